"""scripts/bench_gas.py runs, end to end, on a small cluster. The figures are not checked, save one ratio to
the OpenZeppelin baseline measured in the same run (gas is deterministic on the embedded EVM)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def out() -> str:
    """What one run of the script prints."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench_gas.py"), "--gpus", "12", "--batch", "5"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_bench_gas_runs_and_prints_both_tables(out: str) -> None:
    for line in (
        "ERC-4626 on AID",
        "first deposit",
        "income paid in",
        "exit all the rest: requestRedeem",
        "three steps together",
        "Digitizing 12 GPUs",
        "Targets (issue 14)",
        "stake: depositWithPermit (1 tx)",
        "exit per holder, 20 a cycle",
        "Exit, 20 holders in one cycle",
        "processCycle (all 20 requests, one transaction)",
        "claim: redeem (each holder, average)",
    ):
        assert line in out, out
    for line in (
        "send home -> remote (adapter locks)",
        "receive: lzReceive (OFT mints)",
        "lzReceive (adapter unlocks)",
    ):
        assert line in out, out
    for line in ("registerBatch (5 a transaction)", "registerCluster", "ERC-721 mint, one per GPU", "verifyInCluster"):
        assert line in out, out


def test_the_exit_costs_at_most_two_plain_redeems_per_holder(out: str) -> None:
    """A gas bound against the OpenZeppelin baseline measured in the same run (deterministic on the embedded
    EVM): one holder's exit at 20 a cycle, request + its twentieth of the processing + claim, was 4.92 plain
    redeems before the exit's storage was packed, 3.53 after, and 1.95 once the open request lives beside the
    share balance and the processing fills rounds (issue 14's target: 2x); a change that writes a fresh slot
    on the common exit path fails here."""
    (line,) = [row for row in out.splitlines() if row.startswith("exit per holder, 20 a cycle")]
    ours, plain, ratio = line.split()[-6:-3]
    assert float(ratio.rstrip("x")) <= 2.0, line
    assert int(ours.replace(",", "")) <= 2 * int(plain.replace(",", "")), line


def test_a_deposit_stays_within_ten_percent_of_a_plain_one(out: str) -> None:
    """sAID's deposit against OpenZeppelin's in the same run: at most 1.10x (issue 14), so the exit's storage
    adds no cold read to a deposit."""
    (line,) = [row for row in out.splitlines() if row.startswith("sAID deposit (1,000 AID) vs ERC4626 deposit")]
    ours, plain = (int(x.replace(",", "")) for x in line.split()[-6:-4])
    assert ours * 100 <= plain * 110, line
