"""The quickstart, as a new user runs it: the `gaib` entry point, in a fresh process."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from gaib_sdk.quickstart import run_quickstart

GAIB = Path(sys.executable).with_name("gaib")


def test_gaib_quickstart_json_runs_the_three_stages() -> None:
    proc = subprocess.run([str(GAIB), "quickstart", "--json"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["assets"] == 64
    deal = out["deal"]
    assert deal["id"] == 1
    assert Decimal(deal["advance"]) <= Decimal(deal["appraised_value"]) * Decimal("0.8")
    assert Decimal(deal["advance"]) > 0
    # the repayment's interest went to sAID holders: the share price rose above 1.0
    assert out["said_share_price_before"] == 1.0
    assert out["said_share_price"] > 1.0
    assert abs(out["said_share_price"] - (1 + float(out["repayment"]["interest"]) / 1_000_000)) < 1e-9
    # AID is fully backed: liquid reserve plus principal out in deals
    assert Decimal(out["aid_supply"]) == Decimal(out["reserve_usdc"]) + Decimal(out["principal_deployed_usdc"])
    sides = sorted(p["side"] for p in out["venue_positions"])
    assert sides == ["borrow", "collateral", "supply"]
    assert all(p["venue"] == "morpho" for p in out["venue_positions"])
    for step in ("deploy", "digitize", "mint", "stake", "financialize", "repay", "add_liquidity"):
        assert out["tx"][step], step
        assert all(h.startswith("0x") and len(h) == 66 for h in out["tx"][step])
    assert proc.stderr == ""


def test_an_unknown_venue_is_one_clear_line() -> None:
    proc = subprocess.run([str(GAIB), "quickstart", "--venue", "uniswap"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    assert (
        proc.stderr.strip().splitlines()[-1]
        == "error: no venue named 'uniswap' (installed: curve, morpho, pendle); install its plugin, "
        "e.g. `pip install gaib-uniswap`"
    )
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("venue", "sides"),
    [("curve", ["liquidity", "liquidity"]), ("pendle", ["liquidity", "yield"])],
)
def test_the_quickstart_at_each_venue(venue: str, sides: list[str]) -> None:
    """`gaib quickstart --venue curve|pendle`: stage 3 opens real positions there, the rest is unchanged."""
    out = asyncio.run(run_quickstart(venue=venue))
    assert out["venue"] == venue
    positions = out["venue_positions"]
    assert sorted(p["side"] for p in positions) == sides
    assert all(p["venue"] == venue and Decimal(p["amount"]) > 0 for p in positions)
    if venue == "curve":
        # the investor seeded the pool with both coins, then a lender who is not whitelisted added USDC alone
        seed, lender = sorted(positions, key=lambda p: Decimal(p["amount"]), reverse=True)
        assert Decimal(seed["amount"]) > Decimal(lender["amount"]) > 0
        assert seed["account"] != lender["account"]
    assert Decimal(out["aid_supply"]) == Decimal(out["reserve_usdc"]) + Decimal(out["principal_deployed_usdc"])
    assert out["tx"]["add_liquidity"]


def test_the_quickstart_finances_the_robots_sample_too() -> None:
    """`gaib quickstart --kind robot`: another asset class through the same three stages."""
    from datetime import date

    out = asyncio.run(run_quickstart(kind="robot", as_of=date(2026, 11, 25)))
    assert (out["kind"], out["assets"], out["operator"]) == ("robot", 12, "Primech Robotics RaaS Pte Ltd")
    assert Decimal(out["deal"]["advance"]) == Decimal("218315.62")
    assert Decimal(out["said_share_price"]) > Decimal(out["said_share_price_before"])
    assert Decimal(out["aid_supply"]) == Decimal(out["reserve_usdc"]) + Decimal(out["principal_deployed_usdc"])
