"""Three users' journeys through the `gaib` command line alone, against a real anvil started here: a cloud
provider who finances its GPUs, a DeFi integrator who holds AID and sAID and supplies a venue, and a node
operator who bonds GAIB. Each command is what a user types, with $GAIB_RPC, $GAIB_PRIVATE_KEY and $GAIB_HOME
set, run in this process through `main()` (one is run through the installed `gaib` entry point, as a shell
runs it). What is asserted is what each user relies on: exit statuses, the deal's figures, balances after."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from gaib_sdk.cli import main
from gaib_sdk.paths import gaib_home

from .anvil import KEYS, Anvil
from .cli_docs import documented_outputs

SAMPLE = Path(__file__).parent.parent / "plugins/gaib-gpu/gaib_gpu/data/sample_cluster.json"
GAIB = Path(sys.executable).with_name("gaib")
ADMIN, INVESTOR, PROVIDER, INTEGRATOR, OPERATOR = KEYS[:5]


def address(key: str) -> str:
    return str(Account.from_key(key).address)


class Shell:
    """A terminal with GAIB_RPC and GAIB_HOME set: ``run(*argv, key=...)`` is `gaib ARGV --json` signed by
    ``key`` (none: read-only), its exit status checked and its JSON returned; ``fail`` expects exit 1."""

    def __init__(self, node: Any, home: Path):
        self.node, self.env = node, {"GAIB_RPC": node.url, "GAIB_HOME": str(home)}

    @contextlib.contextmanager
    def _environment(self, key: str | None) -> Iterator[None]:
        saved = {k: os.environ.get(k) for k in (*self.env, "GAIB_PRIVATE_KEY")}
        os.environ.update(self.env)
        if key is None:
            os.environ.pop("GAIB_PRIVATE_KEY", None)
        else:
            os.environ["GAIB_PRIVATE_KEY"] = key
        try:
            yield
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def call(self, *argv: str, key: str | None = ADMIN) -> tuple[int, str, str]:
        stdout, stderr = io.StringIO(), io.StringIO()
        with self._environment(key), contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            code = main(list(argv))
        return code, stdout.getvalue(), stderr.getvalue()

    def run(self, *argv: str, key: str | None = ADMIN) -> dict[str, Any]:
        code, out, err = self.call(*argv, "--json", key=key)
        assert code == 0, (argv, out, err)
        data: dict[str, Any] = json.loads(out)
        return data

    def fail(self, *argv: str, key: str | None = ADMIN) -> str:
        """A user's mistake: exit 1 and, under --json, the error object; its message is returned."""
        code, out, _ = self.call(*argv, "--json", key=key)
        assert code == 1, (argv, code, out)
        message: str = json.loads(out)["error"]["message"]
        return message

    def balance(self, key: str, token: str) -> Decimal:
        return Decimal(self.run("balances", address(key), key=None)[token])


@pytest.fixture(scope="module")
def shell(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shell]:
    """One anvil and one home (deployments file, journal) for the three journeys; the protocol deployed by
    its admin with `gaib deploy`, as the first step of every journey."""
    home = tmp_path_factory.mktemp("home")
    (home / "artifacts").symlink_to(gaib_home() / "artifacts")  # Morpho's, built at set-up
    node = Anvil().start()
    try:
        terminal = Shell(node, home)
        terminal.deployment = terminal.run("deploy")  # type: ignore[attr-defined]
        yield terminal
    finally:
        node.stop()


def test_a_cloud_provider_finances_its_gpus(shell: Shell) -> None:
    provider = address(PROVIDER)
    deployment: dict[str, Any] = shell.deployment  # type: ignore[attr-defined]
    assert deployment["chain_id"] == 31337 and deployment["admin"] == address(ADMIN)
    assert set(deployment) == documented_outputs()["deploy"].keys, set(deployment)

    # the provider may not register assets yet; the registrar admin (the deployer here) onboards it
    assert "lacks REGISTRAR_ROLE" in shell.fail("digitize", "gpu", str(SAMPLE), key=PROVIDER)
    assert shell.run("admin", "roles", provider, key=None)["registrar"] is False
    granted = shell.run("admin", "grant", "registrar", provider)
    assert len(granted["tx_hashes"]) == 1 and set(granted) == documented_outputs()["admin grant"].keys
    assert shell.run("admin", "roles", key=PROVIDER)["registrar"] is True

    # investors' USDC in the reserve is what a deal advances
    shell.run("whitelist", address(INVESTOR))
    shell.run("faucet", address(INVESTOR), "1000000")
    assert shell.run("mint", "1000000", key=INVESTOR)["amount"] == "1000000"

    digitized = shell.run("digitize", "gpu", str(SAMPLE), key=PROVIDER)
    assert len(digitized["asset_ids"]) == 64 and digitized["owner"] == provider
    assert set(digitized) == documented_outputs()["digitize"].keys

    deal = shell.run("finance", "gpu", str(SAMPLE), "--as-of", "2026-11-25")  # the underwriter opens the deal
    assert (deal["deal_id"], deal["advance_usd"], deal["cover"]) == (1, "876809.76", "1.33")
    # the advance is paid to the provider, less the cash reserve the deal holds back
    received = Decimal(deal["advance_usd"]) - Decimal(deal["cash_reserve_usd"])
    assert Decimal(deal["cash_reserve_usd"]) > 0 and shell.balance(PROVIDER, "USDC") == received
    assert "already financed by deal 1" in shell.fail(
        "finance", "gpu", str(SAMPLE), "--as-of", "2026-11-25", "--advance", "900000"
    )

    paid = shell.run("repay", "1", "60000", "--idempotency-key", "invoice-1", key=PROVIDER)
    assert paid["deal_id"] == 1
    again = shell.run("repay", "1", "60000", "--idempotency-key", "invoice-1", key=PROVIDER)
    assert again["tx_hash"] == paid["tx_hash"]  # the same invoice is paid once
    assert shell.balance(PROVIDER, "USDC") == received - 60000

    shown = shell.run("deal", "1", key=None)
    assert (shown["status"], shown["borrower"], shown["advance_usd"]) == ("active", provider, "876809.76")
    assert Decimal(shown["principal_outstanding_usd"]) < Decimal("876809.76")  # the repayment reached principal
    # `gaib deals`, as a shell runs the installed entry point
    env = {**os.environ, **shell.env}
    env.pop("GAIB_PRIVATE_KEY", None)
    proc = subprocess.run([str(GAIB), "deals", "--json"], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    (listed,) = json.loads(proc.stdout)["deals"]
    assert (listed["deal_id"], listed["status"]) == (1, "active")
    assert listed["principal_outstanding_usd"] == shown["principal_outstanding_usd"]
    code, text, _ = shell.call("deals", key=None)  # for a person, off a terminal: a plain table
    assert code == 0 and text.splitlines()[0].split() == [
        "deal",
        "status",
        "advance",
        "USDC",
        "outstanding",
        "USDC",
        "borrower",
    ]
    assert "active" in text and "876,809.76" in text and "\x1b[" not in text


def test_a_defi_integrator_holds_aid_and_said_and_supplies_a_venue(shell: Shell, tmp_path: Path) -> None:
    me = address(INTEGRATOR)
    assert "not KYC-whitelisted" in shell.fail("mint", "100", key=INTEGRATOR)
    shell.run("whitelist", me)  # the KYC manager
    shell.run("faucet", me, "5000")
    assert shell.run("mint", "3000", "--key", "order-7", key=INTEGRATOR)["amount"] == "3000"
    assert shell.run("mint", "3000", "--key", "order-7", key=INTEGRATOR)["amount"] == "3000"  # the same order
    staked = shell.run("stake", "1000", key=INTEGRATOR)
    assert staked["action"] == "stake" and Decimal(staked["amount"]) > 0
    held = shell.run("balances", key=INTEGRATOR)
    assert (held["account"], held["USDC"], held["AID"]) == (me, "2000", "2000")
    assert Decimal(held["sAID"]) == Decimal(staked["amount"])

    # the integrator kit: ABIs, addresses of this chain, Solidity and TypeScript
    kit = shell.run("export", "--out", str(tmp_path / "kit"), key=None)
    addresses = json.loads((tmp_path / "kit" / "addresses.json").read_text())
    (chain,) = addresses.values()
    assert chain["chain_id"] == 31337 and chain["contracts"] == shell.deployment["contracts"]  # type: ignore[attr-defined]
    assert "abi/AIDollar.json" in kit["files"] and (tmp_path / "kit" / "typescript" / "gaib.ts").exists()

    # a venue is the admin's to set up; then the integrator supplies USDC and reads its position back
    refused = shell.fail("venue", "morpho", "add", "600", key=INTEGRATOR)
    assert "the 'morpho' venue is not set up" in refused and "gaib venue morpho setup" in refused
    set_up = shell.run("venue", "morpho", "setup")
    added = shell.run("venue", "morpho", "add", "600", key=INTEGRATOR)
    (position,) = added["positions"]
    assert (position["side"], Decimal(position["amount"]), position["market"]) == (
        "supply",
        Decimal(600),
        set_up["market_id"],
    )
    mine = shell.run("venue", "morpho", "positions", "--account", me, key=ADMIN)  # anyone may look
    assert [Decimal(p["amount"]) for p in mine["positions"]] == [600]
    assert shell.balance(INTEGRATOR, "USDC") == 1400


def test_a_node_operator_bonds_gaib(shell: Shell) -> None:
    me = address(OPERATOR)
    assert "less than the 10000 needed" in shell.fail("node", "register", "10000", key=OPERATOR)
    sent = shell.run("transfer", "GAIB", me, "12000")  # the treasury (the admin here) funds the operator
    assert sent["token"] == "GAIB" and sent["tx_hash"]
    assert shell.balance(OPERATOR, "GAIB") == 12000
    assert "bond 500 GAIB is below the minimum of 10000" in shell.fail("node", "register", "500", key=OPERATOR)
    shell.run("node", "register", "10000", key=OPERATOR)
    shell.run("node", "bond", "1500", key=OPERATOR)
    state = shell.run("node", "status", key=OPERATOR)
    assert (state["operator"], state["status"], Decimal(state["bond_gaib"])) == (me, "active", Decimal(11500))
    assert shell.balance(OPERATOR, "GAIB") == 500
    assert "not an active operator" in shell.fail("node", "bond", "1", key=ADMIN)

    unbonding = shell.run("node", "unbond", key=OPERATOR)
    assert unbonding["status"] == "unbonding"
    assert "the bond can be withdrawn from" in shell.fail("node", "withdraw", key=OPERATOR)
    shell.node.rpc("evm_setNextBlockTimestamp", int(unbonding["withdrawable_at"]) + 1)
    shell.node.rpc("evm_mine")
    shell.run("node", "withdraw", key=OPERATOR)
    assert shell.balance(OPERATOR, "GAIB") == 12000  # the whole bond back
