"""The `gaib` command line, called in process through its main()."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
import pytest
from eth_account import Account

from gaib_sdk import Gaib
from gaib_sdk.cli import main
from gaib_sdk.paths import gaib_home

from .anvil import KEYS, Anvil
from .cli_docs import documented_outputs
from .conftest import AS_OF


def test_quickstart_prints_a_readable_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["quickstart", "--as-of", AS_OF.isoformat()]) == 0
    out = capsys.readouterr().out
    assert "1. digitize             64 GPUs of Northwind Neo-Cloud Ltd registered on-chain" in out
    assert "sAID share price     1.000000 -> 1.0086" in out
    assert "supply          250,000.00 USDC" in out
    assert "health_factor" in out


def test_plugins_lists_the_installed_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["asset_adapters"]["gpu"] == "gaib_gpu.adapter.GpuAdapter"
    assert data["asset_adapters"]["robot"] == "gaib_robots.adapter.RobotAdapter"
    assert data["venues"]["morpho"] == "gaib_morpho.venue.MorphoVenue"


def test_quote_works_offline(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["quote", "gpu", "--as-of", "2026-11-25", "--json"]) == 0
    quote = json.loads(capsys.readouterr().out)
    assert quote["appraised_value_usd"] == "1169079.68"
    assert quote["advance_usd"] == "876809.76"
    assert len(quote["asset_ids"]) == 64
    assert main(["quote", "gpu", "--as-of", "2026-11-25"]) == 0
    assert "asset_ids                        64 assets" in capsys.readouterr().out


def test_a_users_mistake_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["quote", "gpu", "--as-of", "2026-11-25", "--advance", "1300000"]) == 1
    err = capsys.readouterr().err
    assert err == "error: advance 1300000 USDC exceeds 80% of appraised value 1169079.68 USDC (max 935263.74)\n"
    assert main(["quote", "gpu", str(tmp_path / "nope.json")]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main(["quote", "submarine"]) == 1
    assert "no asset adapter for kind 'submarine' (installed: gpu, robot)" in capsys.readouterr().err


def test_deal_terms_and_adapter_options_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    base = ["quote", "gpu", "--as-of", "2026-11-25", "--json"]
    assert main([*base, "--structure", "revenue_share", "--revenue-share-bps", "6000", "--term-days", "360"]) == 0
    terms = json.loads(capsys.readouterr().out)["terms"]
    assert (terms["structure"], terms["revenue_share_bps"], terms["term_days"]) == ("revenue_share", 6000, 360)
    for argv, says in (
        (["--structure", "revenue_share"], "deal terms: revenue_share_bps 0 is outside 5000-7000"),
        (["--rate-bps", "99999"], "deal terms: --rate-bps: Input should be less than or equal to 5000"),
        (["--option", "bogus=1"], "'gpu' adapter option 'bogus': Extra inputs are not permitted"),
        (["--option", "nonsense"], "--option 'nonsense': write NAME=VALUE"),
    ):
        assert main([*base, *argv]) == 1
        assert json.loads(capsys.readouterr().out)["error"]["message"].startswith(says), argv


ZERO = "0x" + "00" * 20
DOWN = "http://127.0.0.1:9"  # the discard port: nothing answers there


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["quote", "gpu", "--advance", "abc"], "argument --advance: 'abc' is not a number"),
        (["quote", "gpu", "--advance", "nan"], "argument --advance: 'nan' must be a positive, finite amount"),
        (["quote", "gpu", "--advance", "-5"], "argument --advance: '-5' must be a positive"),
        (["quote", "gpu", "--as-of", "2026-13-01"], "argument --as-of: '2026-13-01' is not a date YYYY-MM-DD"),
        (["quote", "gpu", "--term-days", "x"], "argument --term-days: 'x' is not a valid integer"),
        (["faucet", "0xabc", "100", "--rpc", DOWN], "argument address: '0xabc' is not an address"),
        (["faucet", ZERO, "lots", "--rpc", DOWN], "argument amount: 'lots' is not a number"),
        (["whitelist", "0x" + "aB" * 20, "--rpc", DOWN], "is not a valid EIP-55 checksum"),
        (["attestation", "nothex", "--rpc", DOWN], "argument asset_id: 'nothex' is not a 32-byte id"),
        (["transfer-deal", "1", "bob", "--rpc", DOWN], "argument to: 'bob' is not an address"),
        (["request-unstake", "0", "--rpc", DOWN], "argument shares: '0' must be a positive"),
        (["node", "bond", "1e400000000", "--rpc", DOWN], "argument amount: '1e400000000' is too large"),
        (["stake", "10", "--rpc", DOWN], "could not reach the node at http://127.0.0.1:9"),
    ],
)
def test_a_malformed_command_line_is_refused_in_one_message(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # no traceback, a non-zero exit, a message naming what to fix: in words, and as one JSON object under --json
    monkeypatch.setenv("GAIB_PRIVATE_KEY", KEYS[0])
    with contextlib.suppress(SystemExit):
        assert main(argv) != 0
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err
    code: int | str | None = None
    try:
        code = main([*argv, "--json"])
    except SystemExit as exc:
        code = exc.code
    assert code not in (0, None)
    error = json.loads(capsys.readouterr().out)["error"]
    assert says in error["message"] and error["type"]


def test_the_node_comes_from_gaib_rpc_when_rpc_is_left_out(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GAIB_RPC", raising=False)
    assert main(["status", "--json"]) == 2  # a command line that does not parse
    assert "one of the arguments --rpc --network is required" in json.loads(capsys.readouterr().out)["error"]["message"]
    monkeypatch.setenv("GAIB_RPC", DOWN)
    assert main(["status", "--json"]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["error"]["message"].startswith(f"could not reach the node at {DOWN}")
    assert captured.err == ""  # under --json no retry chatter either: the object says it all


def test_report_refuses_a_file_for_its_folder_before_the_work(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "taken").write_text("a file")
    assert main(["report", "--out", str(tmp_path / "taken"), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["error"]["message"].endswith(
        "is a file: give a folder (it is created if missing)"
    )


def test_deploy_and_digitize_against_a_node(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GAIB_HOME", str(tmp_path))
    monkeypatch.delenv("GAIB_PRIVATE_KEY", raising=False)
    node = Anvil().start()
    try:
        assert main(["deploy", "--rpc", node.url]) == 1
        assert "set GAIB_PRIVATE_KEY" in capsys.readouterr().err
        monkeypatch.setenv("GAIB_PRIVATE_KEY", KEYS[0])
        assert main(["deploy", "--rpc", node.url, "--json"]) == 0
        deployment = json.loads(capsys.readouterr().out)
        assert deployment["chain_id"] == 31337
        saved = json.loads((tmp_path / "deployments.json").read_text())
        assert saved[f"31337:{deployment['genesis_hash']}"]["contracts"] == deployment["contracts"]
        # a second deploy on the same node would hide the first one's addresses: refused unless asked for
        assert main(["deploy", "--rpc", node.url]) == 1
        assert "this chain already has a protocol deployed (AID at " in capsys.readouterr().err
        # another node, the same chain id, another genesis (anvil's genesis is the second it starts in: a
        # node started in the same second would be the same chain by every mark a client can read)
        other = Anvil("--timestamp", "1700000000").start()
        try:
            assert main(["deploy", "--rpc", other.url, "--json"]) == 0
            second = json.loads(capsys.readouterr().out)
        finally:
            other.stop()
        assert second["genesis_hash"] != deployment["genesis_hash"]
        saved = json.loads((tmp_path / "deployments.json").read_text())
        assert saved[f"31337:{deployment['genesis_hash']}"]["contracts"] == deployment["contracts"]
        assert main(["digitize", "gpu", _sample(), "--rpc", node.url, "--json"]) == 0
        assert len(json.loads(capsys.readouterr().out)["asset_ids"]) == 64
        assert main(["digitize", "gpu", _sample(), "--rpc", node.url]) == 1
        assert "64 of 64 assets are already registered" in capsys.readouterr().err
        assert main(["digitize", "gpu", _sample(), "--rpc", node.url, "--skip-registered", "--json"]) == 0
        assert len(json.loads(capsys.readouterr().out)["already_registered"]) == 64
        out = capsys.readouterr()
        assert KEYS[0][2:] not in out.out + out.err
    finally:
        node.stop()


def _sample() -> str:
    return str(Path(__file__).parent.parent / "plugins/gaib-gpu/gaib_gpu/data/sample_cluster.json")


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment without GAIB_* (so the caller's plugin lists do not leak in), plus ``extra``."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("GAIB_")}, **extra}


def _install_and_test(root: Path, site: Path) -> subprocess.CompletedProcess[str]:
    """Install the package at ``root`` the way pip installs any package (a wheel, its entry point and package
    data), into ``site`` rather than into this environment, offline; then run its own tests against it."""
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps", "--no-build-isolation"]
    installed = subprocess.run([*pip, "--target", str(site), str(root)], capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"],
        cwd=root,
        env=_clean_env(PYTHONPATH=str(site)),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def test_plugin_new_writes_a_package_that_installs_and_passes_the_conformance_suite(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["plugin", "new", "ev-charger", "--dir", str(tmp_path), "--json"]) == 0
    written = json.loads(capsys.readouterr().out)
    root = tmp_path / "gaib-ev-charger"
    assert written["path"] == str(root) and written["package"] == "gaib_ev_charger"
    assert set(written["files"]) == {
        "README.md",
        "pyproject.toml",
        "gaib_ev_charger/__init__.py",
        "gaib_ev_charger/adapter.py",
        "gaib_ev_charger/py.typed",
        "gaib_ev_charger/data/sample_inventory.json",
        "tests/test_adapter.py",
    }
    project = tomllib.loads((root / "pyproject.toml").read_text())
    assert project["project"]["entry-points"]["gaib_sdk"] == {"ev-charger": "gaib_ev_charger"}

    proc = _install_and_test(root, tmp_path / "site")
    # the pytest plugin's header
    assert "gaib-sdk 0.1.0, plugins: curve, ev-charger, gpu, morpho, pendle, robots" in proc.stdout
    assert re.search(r"^22 passed", proc.stdout.splitlines()[-1].strip("= ")), proc.stdout


def test_plugin_new_venue_writes_a_package_that_installs_and_passes_the_conformance_suite(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["plugin", "new", "vault", "--venue", "--dir", str(tmp_path), "--json"]) == 0
    written = json.loads(capsys.readouterr().out)
    root = tmp_path / "gaib-vault"
    assert written["type"] == "venue" and written["package"] == "gaib_vault"
    assert set(written["files"]) == {
        "README.md",
        "pyproject.toml",
        "gaib_vault/__init__.py",
        "gaib_vault/venue.py",
        "gaib_vault/py.typed",
        "tests/test_venue.py",
    }
    project = tomllib.loads((root / "pyproject.toml").read_text())
    assert project["project"]["entry-points"]["gaib_sdk"] == {"vault": "gaib_vault"}
    assert "TODO" in (root / "gaib_vault" / "venue.py").read_text()

    proc = _install_and_test(root, tmp_path / "site")
    assert "plugins: curve, gpu, morpho, pendle, robots, vault" in proc.stdout
    assert re.search(r"^\d+ passed", proc.stdout.splitlines()[-1].strip("= ")), proc.stdout
    assert "skipped" not in proc.stdout.splitlines()[-1]


def test_plugin_new_venue_refuses_a_kind(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["plugin", "new", "vault", "--venue", "--kind", "gpu", "--dir", str(tmp_path)]) == 1
    assert "a venue plugin (--venue) has none" in capsys.readouterr().err
    assert not (tmp_path / "gaib-vault").exists()


def test_plugin_new_in_words_and_its_mistakes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["plugin", "new", "gaib-bess", "--kind", "battery", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        f"wrote {tmp_path / 'gaib-bess'} (7 files): the asset class 'battery' in the package gaib_bess"
    )
    assert 'pip install -e ".[test]"' in out
    assert 'KIND = "battery"' in (tmp_path / "gaib-bess" / "gaib_bess" / "adapter.py").read_text()

    assert main(["plugin", "new", "bess", "--dir", str(tmp_path)]) == 1
    assert capsys.readouterr().err == (
        f"error: {tmp_path / 'gaib-bess'} exists already: remove it, or write the plugin elsewhere with --dir\n"
    )
    assert main(["plugin", "new", "EV Charger", "--dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: plugin name 'EV Charger' must be lower-case letters") and err.count("\n") == 1
    assert main(["plugin", "new", "ok", "--kind", "x" * 33, "--dir", str(tmp_path), "--json"]) == 1
    error = json.loads(capsys.readouterr().out)["error"]  # under --json, the error is the JSON object printed
    assert error["type"] == "GaibValueError" and "is longer than 32 characters" in error["message"]


def test_the_template_is_lint_clean(tmp_path: Path) -> None:
    """What `gaib plugin new` writes passes the house's ruff rules as written, for short and long names."""
    for name, venue in [(n, v) for n in ("a", "ev-charger", "abcdefghijklmnopqrstuvwxyz-abcde") for v in (0, 1)]:
        where = tmp_path / ("venue" if venue else "asset")
        assert main(["plugin", "new", name, "--dir", str(where), *(["--venue"] if venue else [])]) == 0
        root = where / f"gaib-{name}"
        for check in (["check"], ["format", "--check"]):
            proc = subprocess.run(
                [sys.executable, "-m", "ruff", *check, "--no-cache", "."], cwd=root, capture_output=True, text=True
            )
            assert proc.returncode == 0, f"{name}: ruff {' '.join(check)}:\n{proc.stdout}{proc.stderr}"


def _leaves(command: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    if not isinstance(command, click.Group):
        yield path, command
        return
    for name, sub in command.commands.items():
        yield from _leaves(sub, (*path, name))


def test_every_subcommand_takes_json_and_every_option_has_help() -> None:
    from gaib_sdk.cli import gaib

    found = dict(_leaves(gaib))
    assert {("quickstart",), ("plugins",), ("quote",), ("deploy",), ("digitize",), ("plugin", "new")} <= set(found)
    for path, command in found.items():
        options = [p for p in command.params if isinstance(p, click.Option)]
        assert any("--json" in p.opts for p in options), f"gaib {' '.join(path)} has no --json"
        for option in options:
            assert option.help, f"gaib {' '.join(path)} {option.opts[0]} has no help"
        arguments = [p.name.upper() for p in command.params if isinstance(p, click.Argument) and p.name]
        for name in arguments:  # an argument's help is in the command's
            assert re.search(rf"^ +{name} +\S", command.help or "", re.M), f"gaib {' '.join(path)} {name} has no help"


class Cli:
    """`gaib` as a user types it against a fresh anvil: ``run(...)`` with --rpc and --json, signing as ``key``."""

    def __init__(self, node: Anvil, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
        self.node, self.capsys, self.monkeypatch = node, capsys, monkeypatch

    def run(self, *argv: str, key: str = KEYS[0]) -> dict[str, object]:
        self.monkeypatch.setenv("GAIB_PRIVATE_KEY", key)
        assert main([*argv, "--rpc", self.node.url, "--json"]) == 0, self.capsys.readouterr().err
        out: dict[str, object] = json.loads(self.capsys.readouterr().out)
        return out

    def authorize_registrar(self, account: str) -> None:
        """The admin grants REGISTRAR_ROLE through the Python API (the CLI has no command for it)."""

        async def grant() -> None:
            async with await Gaib.connect(self.node.url, private_key=KEYS[0]) as admin:
                await admin.admin.authorize_registrar(account)

        asyncio.run(grant())


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Cli]:
    # a home of its own for the deployments file and journal, with the artifacts set-up built (Morpho's)
    (tmp_path / "artifacts").symlink_to(gaib_home() / "artifacts")
    monkeypatch.setenv("GAIB_HOME", str(tmp_path))
    node = Anvil().start()
    try:
        yield Cli(node, capsys, monkeypatch)
    finally:
        node.stop()


def test_each_stage_and_contract_operation_from_the_command_line(
    cli: Cli, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """deploy, whitelist, faucet, mint, stake, digitize, finance, repay, redeem and status against anvil,
    each as a user types it, with --json."""
    investor, provider = Account.from_key(KEYS[1]).address, Account.from_key(KEYS[2]).address
    cli.run("deploy")
    cli.run("whitelist", investor)
    cli.run("faucet", investor, "2000000")
    assert cli.run("mint", "1500000", "--key", "o-1", key=KEYS[1])["amount"] == "1500000"
    assert cli.run("mint", "1500000", "--key", "o-1", key=KEYS[1])["amount"] == "1500000"  # the same order: once
    cli.run("stake", "1000000", key=KEYS[1])

    # the provider needs the registrar role, which the registrar admin (here the deployer) grants
    assert cli.run("admin", "roles", provider)["registrar"] is False
    assert len(cli.run("admin", "grant", "registrar", provider)["tx_hashes"]) == 1
    assert cli.run("admin", "grant", "registrar", provider)["tx_hashes"] == []  # held already: nothing sent
    roles = cli.run("admin", "roles", provider)
    assert roles["registrar"] is True and roles["underwriter"] is False and roles["admin"] is False
    assert cli.run("admin", "roles")["admin"] is True  # the signing account's own
    monkeypatch.setenv("GAIB_PRIVATE_KEY", KEYS[2])  # a provider cannot hand itself another role
    assert main(["admin", "grant", "underwriter", provider, "--rpc", cli.node.url]) == 1
    assert "cannot grant UNDERWRITER_ROLE" in capsys.readouterr().err
    assert main(["admin", "grant", "admin", provider, "--rpc", cli.node.url]) == 1
    assert "the admin role moves through governance" in capsys.readouterr().err
    cli.run("digitize", "gpu", _sample(), key=KEYS[2])
    deal = cli.run("finance", "gpu", _sample(), "--as-of", "2026-11-25")
    assert deal["advance_usd"] == "876809.76" and deal["cover"] == "1.33"
    # asked again, the same request is the same deal (the journal); other figures are a second deal, refused
    assert cli.run("finance", "gpu", _sample(), "--as-of", "2026-11-25")["tx_hash"] == deal["tx_hash"]
    monkeypatch.setenv("GAIB_PRIVATE_KEY", KEYS[0])
    assert (
        main(["finance", "gpu", _sample(), "--as-of", "2026-11-25", "--advance", "900000", "--rpc", cli.node.url]) == 1
    )
    assert "already financed by deal 1 (advance 876809.76 USDC, fixed 12% over 720 days" in capsys.readouterr().err
    remarked = cli.run("remark", "gpu", _sample(), "--as-of", "2027-11-25")["deals"]  # type: ignore[index]
    assert [(r["deal_id"], r["value_at_origination_usd"]) for r in remarked] == [(1, "1169079.68")]
    now = remarked[0]  # a year on, the H100's market price has fallen 20%: the LTV is up
    assert Decimal(now["current_value_usd"]) < Decimal("1169079.68") and Decimal(now["ltv_now"]) > Decimal("0.75")
    shown = cli.run("deal", "1")
    assert (shown["status"], shown["borrower"], shown["advance_usd"]) == ("active", provider, "876809.76")
    assert [(d["deal_id"], d["status"]) for d in cli.run("deals")["deals"]] == [(1, "active")]  # type: ignore[index]
    assert cli.run("balances", investor)["sAID"] == "999999.999999999999"  # less the dead shares, 10^-12 sAID
    cli.run("faucet", provider, "100000")
    paid = cli.run("repay", "1", "60000", "--key", "inv-1", key=KEYS[2])
    assert paid["deal_id"] == 1
    assert cli.run("repay", "1", "60000", "--key", "inv-1", key=KEYS[2])["tx_hash"] == paid["tx_hash"]
    cli.run("redeem", "1000", key=KEYS[1])
    status = cli.run("status")
    assert Decimal(str(status["aid_supply"])) == Decimal(str(status["backing_usdc"]))
    assert status["deals"] == 1
    # a user's mistake: one line, exit 1
    monkeypatch.setenv("GAIB_PRIVATE_KEY", KEYS[3])
    assert main(["mint", "5", "--rpc", cli.node.url]) == 1
    assert capsys.readouterr().err.startswith("error: account ")


def test_the_trouble_and_recovery_operations_and_progress(
    cli: Cli, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """an sAID exit request, a queued redemption and its claim, pause, deny, impair, cure, default and liquidate, as a
    user types them; and the progress bar of a human-mode digitize."""
    investor, provider = Account.from_key(KEYS[1]).address, Account.from_key(KEYS[2]).address
    cli.run("deploy")
    for address in (investor, provider):
        cli.run("whitelist", address)
    cli.run("faucet", investor, "1300000")
    cli.run("mint", "1300000", key=KEYS[1])
    cli.run("stake", "1000", key=KEYS[1])
    assert cli.run("request-unstake", "400", "--key", "exit-1", key=KEYS[1])["request_id"] == 0
    assert cli.run("request-unstake", "400", "--key", "exit-1", key=KEYS[1])["request_id"] == 0  # once
    status = cli.run("unstake-status", "--request", "0", key=KEYS[1])
    assert status["pending_shares"] == "400"
    assert status["request"] == {"id": 0, "pending_shares": "400", "claimable_shares": "0"}
    # the cycle is a month away: nothing to process, nothing to claim yet; one line each, exit status 1
    monkeypatch.setenv("GAIB_PRIVATE_KEY", KEYS[0])
    assert main(["process-cycle", "--rpc", cli.node.url]) == 1
    assert "the withdrawal cycle is not due yet" in capsys.readouterr().err
    monkeypatch.setenv("GAIB_PRIVATE_KEY", KEYS[1])
    assert main(["claim-unstake", "--rpc", cli.node.url]) == 1
    assert "has no filled exit to claim" in capsys.readouterr().err
    assert cli.run("set-operator", provider, key=KEYS[1])["approved"] is True
    cli.authorize_registrar(provider)
    monkeypatch.setenv("GAIB_PRIVATE_KEY", KEYS[2])
    assert main(["digitize", "gpu", _sample(), "--rpc", cli.node.url]) == 0
    assert "64/64" in capsys.readouterr().err  # the progress bar, on stderr
    cli.run("finance", "gpu", _sample(), "--as-of", "2026-11-25")

    # the reserve is out in the deal: a redemption waits in the queue until cash comes back
    request = cli.run("request-redemption", "200000", key=KEYS[1])
    assert request["request_id"] == 0
    cli.run("faucet", provider, "300000")
    cli.run("repay", "1", "250000", key=KEYS[2])
    assert cli.run("claim", key=KEYS[1])["amount"] == "200000"

    assert cli.run("impair", "1", "100000")["action"] == "impair"
    cli.run("cure", "1")
    cli.run("default", "1")
    cli.run("faucet", Account.from_key(KEYS[0]).address, "500000")
    outcome = cli.run("liquidate", "1", "500000")
    assert outcome["action"] == "record_liquidation" and "loss_usd" in outcome

    cli.run("pause")
    monkeypatch.setenv("GAIB_PRIVATE_KEY", KEYS[1])
    assert main(["mint", "1", "--rpc", cli.node.url]) == 1
    assert "AID is paused" in capsys.readouterr().err
    cli.run("unpause")
    assert cli.run("pause", "--token", "sAID")["token"] == "sAID"
    monkeypatch.setenv("GAIB_PRIVATE_KEY", KEYS[1])
    assert main(["stake", "1", "--rpc", cli.node.url]) == 1
    assert "sAID is paused: cannot stake" in capsys.readouterr().err
    cli.run("unpause", "--token", "sAID")
    cli.run("deny", investor)
    cli.run("deny", investor, "--allow")
    assert Decimal(str(cli.run("status")["uncovered_loss_usdc"])) >= 0


def test_a_venue_from_the_command_line(cli: Cli, capsys: pytest.CaptureFixture[str]) -> None:
    """`gaib venue NAME quote|add|remove|positions`: the venue is set up once and found again by the next
    command (its addresses are saved with the deployment), and its mistakes are one line."""
    lender = Account.from_key(KEYS[1]).address
    cli.run("deploy")
    cli.run("faucet", lender, "1000")
    # the admin sets the venue up (its oracle and market come from the admin's account), a user may not
    cli.monkeypatch.setenv("GAIB_PRIVATE_KEY", KEYS[1])
    assert main(["venue", "morpho", "setup", "--rpc", cli.node.url]) == 1
    assert "lacks DEFAULT_ADMIN_ROLE" in capsys.readouterr().err
    set_up = cli.run("venue", "morpho", "setup")
    assert set_up["venue"] == "morpho" and set_up["market_id"]
    assert cli.run("venue", "morpho", "setup") == set_up  # set up once: asked again, the same addresses
    quote = cli.run("venue", "morpho", "quote", "600", key=KEYS[1])
    assert (
        quote["action"] == "add_liquidity" and quote["asset_in"] == "USDC" and Decimal(str(quote["amount_in"])) == 600
    )
    added = cli.run("venue", "morpho", "add", "600", key=KEYS[1])
    (position,) = added["positions"]  # type: ignore[misc]
    assert position["side"] == "supply" and Decimal(position["amount"]) == 600
    market = position["market"]
    assert market == set_up["market_id"]
    removed = cli.run("venue", "morpho", "remove", "250", key=KEYS[1])
    (position,) = removed["positions"]  # type: ignore[misc]
    assert position["market"] == market and Decimal(position["amount"]) == 350  # the same market, not a new one
    mine = cli.run("venue", "morpho", "positions", "--account", lender)
    assert [p["market"] for p in mine["positions"]] == [market]  # type: ignore[union-attr]
    assert main(["venue", "morpho", "add", "--rpc", cli.node.url]) == 1
    assert "needs an AMOUNT" in capsys.readouterr().err
    assert main(["venue", "uniswap", "positions", "--rpc", cli.node.url]) == 1
    assert "uniswap" in capsys.readouterr().err


def test_a_dev_chain_persists_between_commands_and_its_clock_moves(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """gaib dev start, deploy and whitelist through $GAIB_RPC, move the clock, stop, start again: the deployment
    and the account's state are still there."""
    (tmp_path / "artifacts").symlink_to(gaib_home() / "artifacts")
    monkeypatch.setenv("GAIB_HOME", str(tmp_path))
    # anvil's first development account, funded at its genesis: the key a user of `gaib dev` signs with
    monkeypatch.setenv("GAIB_PRIVATE_KEY", "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")

    def gaib(*argv: str) -> dict[str, Any]:
        assert main([*argv, "--json"]) == 0, capsys.readouterr().out
        out: dict[str, Any] = json.loads(capsys.readouterr().out)
        return out

    started = gaib("dev", "start", "--port", "0")
    try:
        assert set(started) >= documented_outputs()["dev start"].keys  # what docs/cli.md shows of it
        assert started["resumed"] is False and gaib("dev", "status")["url"] == started["url"]
        assert main(["dev", "start", "--port", "0"]) == 1
        assert "a dev chain is running already" in capsys.readouterr().err
        monkeypatch.setenv("GAIB_RPC", started["url"])
        gaib("deploy")
        investor = Account.from_key(KEYS[1]).address
        gaib("whitelist", investor)
        gaib("faucet", investor, "1234")
        before = gaib("dev", "status")["block"]
        moved = gaib("dev", "time", "2592000")
        assert moved["block"] == before + 1
        assert main(["dev", "time", "-5"]) == 1
        assert "the clock only moves forward" in capsys.readouterr().err
        gaib("dev", "stop")
        assert gaib("dev", "status") == {"running": False}
        again = gaib("dev", "start", "--port", "0")
        assert again["resumed"] is True
        monkeypatch.setenv("GAIB_RPC", again["url"])
        assert gaib("balances", investor)["USDC"] == "1234"  # the deployment was found again, with its state
        assert gaib("dev", "status")["block"] >= moved["block"]
    finally:
        from gaib_sdk import devchain

        if devchain.running() is not None:
            devchain.stop()
    assert gaib("dev", "reset")["removed"] is True
