"""The node verification network end to end: `gaib node run` reads telemetry through an asset adapter (a GPU
export file, or a DCGM exporter on a real HTTP server on 127.0.0.1), signs a report per device per period,
submits the root; the chain verifies inclusion; a false report is challenged and slashed; a node killed
between signing and submitting resumes without re-signing or resubmitting. On the embedded chain and anvil."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import threading
from collections.abc import Collection
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from gaib_sdk import Gaib
from gaib_sdk.chain.journal import Journal
from gaib_sdk.cli import main
from gaib_sdk.errors import GaibValueError
from gaib_sdk.merkle import MerkleTree
from gaib_sdk.models import CustomerContract
from gaib_sdk.namespaces import Nodes
from gaib_sdk.node import (
    Bundle,
    DeviceReport,
    Health,
    NodeRunner,
    Sample,
    SignedReport,
    aggregate,
    fetch_bundle,
    sign_report,
)
from gaib_sdk.node.store import write_atomic
from gaib_sdk.testing.anvil import node_rpc

from .anvil import KEYS, Anvil
from .http_server import StaticServer

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "plugins/gaib-gpu/gaib_gpu/data/sample_cluster.json"
EXPORTER_PAGE = Path(__file__).with_name("data") / "dcgm_exporter_hgx-h100-01.txt"
DAY = 86_400
GAIB = Decimal(10_000)  # the deployment's minimum bond


def small_cluster(path: Path, gpus: int, *, down: Collection[int] = ()) -> Path:
    """The sample cluster cut to its first ``gpus`` GPUs (those of ``down`` reporting unhealthy)."""
    data = json.loads(SAMPLE.read_text())
    data["gpus"] = data["gpus"][:gpus]
    serials = [g["serial"] for g in data["gpus"]]
    data["telemetry"] = [t for t in data["telemetry"] if t["serial"] in serials]
    for i, t in enumerate(data["telemetry"]):
        if i in down:
            t["healthy"], t["utilisation"] = False, 0.0
    write_atomic(path, json.dumps(data))
    return path


async def operator_with_bond(admin: Gaib, who: Gaib) -> None:
    await admin.send(admin.protocol.gaib.functions.transfer(who.address, int(GAIB) * 10**18), what="GAIB")
    await who.nodes.register_operator(GAIB)


# ---- aggregation (no chain) ----


def test_aggregate_health_utilisation_revenue_and_telemetry_hash() -> None:
    period, length = 20_000, DAY  # 2024-10-04
    contract = CustomerContract(
        customer="C", signed_on="2024-01-01", starts_on="2024-01-01", term_months=24, monthly_revenue_usd="30416.67"
    )
    ended = contract.model_copy(update={"starts_on": contract.signed_on, "term_months": 1})
    at = period * length
    samples = [
        Sample("0x" + "01" * 32, at + 1, "GPU-a", True, 0.8, "0x" + "11" * 32),
        Sample("0x" + "01" * 32, at + 2, "GPU-a", True, 0.6, "0x" + "12" * 32),
        Sample("0x" + "02" * 32, at + 1, "GPU-b", True, 0.5, "0x" + "21" * 32),
        Sample("0x" + "02" * 32, at + 2, "GPU-b", False, 0.0, "0x" + "22" * 32),
        Sample("0x" + "03" * 32, at + 1, "GPU-c", False, 0.0, "0x" + "31" * 32),
    ]
    a, b, c = aggregate(period, length, samples, [contract, ended])
    assert [r.health for r in (a, b, c)] == [Health.HEALTHY, Health.DEGRADED, Health.DOWN]
    assert [r.utilisation_bps for r in (a, b, c)] == [7_000, 2_500, 0]
    # one running contract: 30416.67 USD a month is 1000.000109... a day, shared by the two devices not down
    day = int(Decimal("30416.67") * 10**6 * 12 / 365)
    assert a.revenue == b.revenue == day // 2 and c.revenue == 0
    assert c.problems() == [] and a.period == period
    assert a.telemetry_hash != b.telemetry_hash and a.device_id != b.device_id
    assert aggregate(period, length, samples, [ended])[0].revenue == 0


# ---- the embedded chain ----


@pytest.mark.asyncio
async def test_node_signs_submits_and_the_chain_verifies_then_a_false_report_is_slashed(
    gaib: Gaib, tmp_path: Path
) -> None:
    provider, liar, challenger = gaib.with_account(1), gaib.with_account(2), gaib.with_account(3)
    # The embedded chain's clock is the wall clock: start an hour into a period, so that the readings ten
    # minutes apart below fall in one period whatever the time of day the test runs.
    now = (await gaib.chain.w3.eth.get_block("latest"))["timestamp"]
    await gaib.chain.advance_time(86_400 - now % 86_400 + 3_600)
    source = small_cluster(tmp_path / "cluster.json", 4)
    await gaib.admin.authorize_registrar(provider.address)
    digitized = await provider.digitize("gpu", source)
    await operator_with_bond(gaib, provider)
    await operator_with_bond(gaib, liar)

    with pytest.raises(GaibValueError, match="interval 0 s"):
        await NodeRunner.open(provider, "gpu", source, tmp_path / "reports", interval=0)
    runner = await NodeRunner.open(provider, "gpu", source, tmp_path / "reports")
    period = await runner.sample()
    small_cluster(source, 4, down={3})  # the fourth GPU goes down for the second reading
    await gaib.chain.advance_time(600)
    assert await runner.sample() == period
    assert await runner.close_pending() == []  # the period has not closed
    with pytest.raises(GaibValueError, match="has not closed"):
        await runner.close_period(period)
    await gaib.chain.advance_time(DAY)
    [result] = await runner.close_pending()
    runner.close()
    assert (result.period, result.count, result.signed_now, result.submitted_now) == (period, 4, True, True)
    assert result.uri == (tmp_path / "reports" / "bundles" / f"{period}.json").resolve().as_uri()

    # the chain holds the root; the bundle's every report is proven in it and signed by the operator
    bundle = await fetch_bundle(result.uri)
    assert bundle.root == result.root and bundle.operator == provider.address
    assert await gaib.nodes.check_bundle(bundle, provider.address, period) == []
    for item in bundle.reports:
        assert await gaib.nodes.verify_report_inclusion(item.report, list(item.proof), provider.address)
    first, second = bundle.reports[:2]
    assert await gaib.nodes.verify_report_inclusion(first.report, list(first.proof))  # in some root of the period
    assert not await gaib.nodes.verify_report_inclusion(first.report, list(second.proof))
    assert not await gaib.nodes.verify_report_inclusion(first.report, list(first.proof), liar.address)
    assert [r.report.health for r in bundle.reports].count(Health.DEGRADED) == 1

    status = await gaib.nodes.attested_status(digitized.asset_ids[0])
    assert status is not None
    assert (status.operator, status.period, status.health, status.utilisation) == (
        provider.address,
        period,
        "healthy",
        Decimal("0.82"),
    )
    assert status.revenue_usdc > 0
    assert await gaib.nodes.attested_status("0x" + "00" * 32) is None
    assert await gaib.nodes.attested_status(digitized.asset_ids[0], operators=[liar.address]) is None

    # a liar's root: revenue on a device it reports down. The SDK refuses to challenge a true report...
    truth = bundle.reports[0].report
    lie = truth.model_copy(update={"health": Health.DOWN})
    tree = MerkleTree([truth.leaf, lie.leaf])
    liar_bundle = Bundle(
        chain_id=gaib.chain.chain_id,
        contract=gaib.nodes.attestation.address,
        operator=liar.address,
        period=period,
        period_start=period * DAY,
        period_end=(period + 1) * DAY,
        root=tree.root,
        count=2,
        reports=[
            SignedReport(
                report=r,
                signature=sign_report(
                    r, liar.account, chain_id=gaib.chain.chain_id, contract=gaib.nodes.attestation.address
                ),
                proof=tree.proof(r.leaf),
            )
            for r in (truth, lie)
        ],
    )
    path = tmp_path / "liar.json"
    path.write_text(liar_bundle.model_dump_json())
    await liar.nodes.submit_root(period, tree.root, 2, path.as_uri())
    with pytest.raises(GaibValueError, match="not provably false"):
        await challenger.nodes.challenge(liar.address, truth, tree.proof(truth.leaf))
    with pytest.raises(GaibValueError, match="does not place the report"):
        await challenger.nodes.challenge(liar.address, lie, tree.proof(truth.leaf))
    # ... and, while the liar's root is newest, reads it; then slashes it, and reads the honest report again
    assert (await gaib.nodes.attested_status(truth.asset_id)).operator == liar.address  # type: ignore[union-attr]
    slashed = await challenger.nodes.challenge(liar.address, lie, tree.proof(lie.leaf))
    assert (slashed["fault"], slashed["to_challenger_gaib"]) == ("impossible", GAIB / 2)
    assert (await gaib.nodes.operator(liar.address))["status"] == "jailed"
    assert (await gaib.nodes.attested_status(lie.asset_id)).operator == provider.address  # type: ignore[union-attr]
    with pytest.raises(GaibValueError, match="no bond left"):
        await challenger.nodes.challenge(liar.address, lie, tree.proof(lie.leaf))

    # equivocation: the honest operator signs a second, different report for the same device and period
    other = truth.model_copy(update={"utilisation_bps": 1})
    other_sig = sign_report(
        other, provider.account, chain_id=gaib.chain.chain_id, contract=gaib.nodes.attestation.address
    )
    item = bundle.reports[0]
    result2 = await challenger.nodes.challenge(
        provider.address, item.report, list(item.proof), other=other, other_signature=other_sig
    )
    assert result2["fault"] == "equivocation"
    assert await gaib.nodes.attested_status(truth.asset_id) is None  # both operators are jailed now


@pytest.mark.asyncio
async def test_the_node_reads_any_asset_class_a_robot_fleet_too(gaib: Gaib, tmp_path: Path) -> None:
    operator = gaib.with_account(1)
    await gaib.admin.authorize_registrar(operator.address)
    robots = (await operator.digitize("robot")).asset_ids  # the robot plugin's sample fleet
    await operator_with_bond(gaib, operator)
    source = operator.assets.adapter("robot").example_source()
    assert source is not None
    runner = await NodeRunner.open(operator, "robot", source, tmp_path / "reports")
    await runner.sample()
    await gaib.chain.advance_time(DAY)
    [result] = await runner.close_pending()
    runner.close()
    assert result.count == len(robots)
    status = await gaib.nodes.attested_status(robots[0])
    assert status is not None and status.health == "healthy" and status.revenue_usdc > 0


@pytest.mark.asyncio
async def test_a_node_killed_between_signing_and_submitting_resumes_with_the_same_reports(
    gaib: Gaib, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = gaib.with_account(1)
    source = small_cluster(tmp_path / "cluster.json", 3)
    await gaib.admin.authorize_registrar(provider.address)
    await provider.digitize("gpu", source)
    await operator_with_bond(gaib, provider)
    reports = tmp_path / "reports"

    runner = await NodeRunner.open(provider, "gpu", source, reports)
    period = await runner.sample()
    await gaib.chain.advance_time(DAY)

    async def killed(*args: Any, **kwargs: Any) -> str:
        raise KeyboardInterrupt("killed before the root was sent")

    monkeypatch.setattr(Nodes, "submit_root", killed)
    with pytest.raises(KeyboardInterrupt):
        await runner.close_pending()
    runner.close()
    monkeypatch.undo()
    signed_before = (reports / "bundles" / f"{period}.json").read_text()
    assert (await provider.nodes.operator())["roots"] == 0

    # a reading of the closed period arrives late (it would change the reports if they were signed again)
    small_cluster(source, 3, down={0, 1, 2})
    again = await NodeRunner.open(provider, "gpu", source, reports)
    again.store.add_samples(
        period,
        [Sample(a, 1, "x", False, 0.0, "0x" + "00" * 32) for a in {s.asset_id for s in again.store.samples(period)}],
        [],
    )
    [result] = await again.close_pending()
    assert (result.signed_now, result.submitted_now) == (False, True)
    assert (reports / "bundles" / f"{period}.json").read_text() == signed_before

    # killed after the root was sent but before it was marked: the chain's root is found, nothing is resent
    with again.store._write() as db:  # noqa: SLF001 - forget the submission, as a crash would have
        db.execute("UPDATE periods SET submitted = 0")
    (reports / "bundles" / f"{period}.json").unlink()  # and the bundle is rewritten from the store
    [result] = await again.close_pending()
    assert (result.signed_now, result.submitted_now) == (False, False)
    assert (reports / "bundles" / f"{period}.json").read_text() == signed_before
    assert await again.close_pending() == []
    again.close()
    assert (await provider.nodes.operator())["roots"] == 1
    assert len(await provider.nodes.root_events()) == 1


# ---- anvil, the DCGM exporter and the command line ----


def gaib_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    code = main([*argv, "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    data: dict[str, Any] = json.loads(out.out)
    return data


def test_node_on_anvil_reads_a_dcgm_exporter_and_a_false_report_is_slashed(
    anvil: Anvil, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GAIB_HOME", str(tmp_path / "home"))
    deployments = tmp_path / "home" / "deployments.json"
    inventory = small_cluster(tmp_path / "gpus.json", 8)  # the 8 GPUs of the exporter's host
    options = json.dumps({"dcgm": {"inventory": str(inventory)}})
    reports = str(tmp_path / "reports")

    async def deploy_and_digitize() -> list[str]:
        async with await Gaib.connect(anvil.url, private_key=KEYS[0], deployments=deployments) as admin:
            await admin.deploy()
            provider = admin.with_account(KEYS[1])
            await admin.admin.authorize_registrar(provider.address)
            asset_ids = (await provider.digitize("gpu", inventory)).asset_ids
            for key in KEYS[1:3]:
                to = admin.with_account(key).address
                await admin.send(admin.protocol.gaib.functions.transfer(to, 10**22), what="GAIB")
            return asset_ids

    async def first_reading(url: str) -> int:
        async with await Gaib.connect(anvil.url, private_key=KEYS[1], deployments=deployments) as node:
            runner = await NodeRunner.open(node, "gpu", url, reports, options=json.loads(options))
            period = await runner.sample()
            runner.close()
            await node.chain.advance_time(DAY)
            return period

    asset_ids = asyncio.run(deploy_and_digitize())
    monkeypatch.setenv("GAIB_PRIVATE_KEY", KEYS[1])
    rpc = ["--rpc", anvil.url]
    assert gaib_cli(capsys, "node", "register", "10000", *rpc)["tx_hash"]
    assert gaib_cli(capsys, "node", "status", *rpc)["status"] == "active"
    with StaticServer({"/metrics": EXPORTER_PAGE.read_text()}, content_type="text/plain", not_found="") as exporter:
        run = ["node", "run", "gpu", exporter.url + "/metrics", "--reports", reports, "--options", options, *rpc]
        # one reading in a period; the period closes; `--once` reads again, signs, submits, and exits
        period = asyncio.run(first_reading(exporter.url + "/metrics"))
        out = gaib_cli(capsys, *run, "--once", "--interval", "0.01")
    [closed] = out["periods"]
    assert (closed["period"], closed["count"], closed["submitted_now"]) == (period, 8, True)
    assert len(exporter.requests) == 2

    status = gaib_cli(capsys, "node", "status", "--reports", reports, *rpc)
    assert status["latest_period"] == period and status["periods_on_disk"][0]["submitted"] is True
    attested = gaib_cli(capsys, "attestation", asset_ids[0], *rpc)
    assert attested["attested"] and attested["health"] == "healthy" and attested["utilisation"] == "0.82"
    # asked again for the same period, the node finds its root on chain: nothing is signed or sent again
    [again] = gaib_cli(capsys, *run, "--period", str(period))["periods"]
    assert (again["root"], again["signed_now"], again["submitted_now"]) == (closed["root"], False, False)

    # a liar on anvil: a report on an asset the registry does not hold, challenged from its published bundle
    path = tmp_path / "liar.json"

    async def lie() -> DeviceReport:
        async with await Gaib.connect(anvil.url, private_key=KEYS[2], deployments=deployments) as liar:
            await liar.nodes.register_operator(GAIB)
            ghost = DeviceReport(
                asset_id="0x" + "42" * 32, period=period, device_id="0x" + "43" * 32, health=1,
                utilisation_bps=5_000, revenue=1, telemetry_hash="0x" + "44" * 32,
            )  # fmt: skip
            tree = MerkleTree([ghost.leaf])
            sig = sign_report(
                ghost, liar.account, chain_id=liar.chain.chain_id, contract=liar.nodes.attestation.address
            )
            bundle = Bundle(
                chain_id=liar.chain.chain_id, contract=liar.nodes.attestation.address, operator=liar.address,
                period=period, period_start=period * DAY, period_end=(period + 1) * DAY, root=tree.root, count=1,
                reports=[SignedReport(report=ghost, signature=sig, proof=[])],
            )  # fmt: skip
            path.write_text(bundle.model_dump_json())
            await liar.nodes.submit_root(period, tree.root, 1, path.as_uri())
            return ghost

    ghost = asyncio.run(lie())
    monkeypatch.setenv("GAIB_PRIVATE_KEY", KEYS[3])
    slashed = gaib_cli(capsys, "node", "challenge", str(path), ghost.asset_id, *rpc)
    assert slashed["fault"] == "unknown_asset" and Decimal(slashed["to_challenger_gaib"]) == GAIB / 2
    assert main(["node", "challenge", str(path), ghost.asset_id, *rpc]) == 1
    assert "no bond left to slash" in capsys.readouterr().err
    liar_address = json.loads(path.read_text())["operator"]
    jailed = gaib_cli(capsys, "node", "status", "--operator", liar_address, *rpc)
    assert jailed["status"] == "jailed" and Decimal(jailed["slashed_gaib"]) == GAIB


@pytest.mark.asyncio
@pytest.mark.parametrize("point", ["before_send", "after_send"])
async def test_a_node_process_killed_while_sending_its_root_resumes_on_anvil(
    anvil: Anvil, tmp_path: Path, point: str
) -> None:
    """SIGKILL with the period's reports signed on disk and its root's transaction journaled (never seen by the
    node, or in its pool unmined): the restarted node sends nothing new. It re-uses the reports and awaits
    the very transaction signed before the kill; the chain ends with one root."""
    deployments, journal, reports = tmp_path / "deployments.json", tmp_path / "journal.sqlite", tmp_path / "reports"
    source = small_cluster(tmp_path / "gpus.json", 3)
    async with await Gaib.connect(anvil.url, private_key=KEYS[0], deployments=deployments, journal=False) as admin:
        await admin.deploy()
        operator = admin.with_account(KEYS[1])
        await admin.admin.authorize_registrar(operator.address)
        await operator.digitize("gpu", source)
        await operator_with_bond(admin, operator)
        runner = await NodeRunner.open(operator, "gpu", source, reports)
        period = await runner.sample()
        runner.close()
        await admin.chain.advance_time(DAY)

    args = [anvil.url, str(deployments), str(journal), str(reports), str(source), point]
    worker = subprocess.run(
        [sys.executable, "-m", "tests.node_worker", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert worker.returncode == -signal.SIGKILL, worker.stderr
    bundle = (reports / "bundles" / f"{period}.json").read_text()
    with Journal(journal) as j:
        [signed] = j.entries()
    in_pool = node_rpc(anvil.url, "eth_getTransactionByHash", signed.tx_hash)
    assert (in_pool is None) == (point == "before_send")

    stop = threading.Event()
    miner = threading.Thread(
        target=lambda: [node_rpc(anvil.url, "evm_mine") for _ in iter(lambda: stop.wait(0.2), True)]
    )
    if point == "after_send":  # mining was paused with the root in the pool
        miner.start()
    try:
        async with await Gaib.connect(anvil.url, private_key=KEYS[1], deployments=deployments, journal=journal) as node:
            again = await NodeRunner.open(node, "gpu", source, reports)
            [result] = await again.close_pending()
            again.close()
            assert (result.signed_now, result.tx_hash) == (False, signed.tx_hash)
            assert len(await node.nodes.root_events()) == 1
            assert node.chain.journal is not None and len(node.chain.journal.entries()) == 1
    finally:
        stop.set()
        if point == "after_send":
            miner.join()
            node_rpc(anvil.url, "evm_setAutomine", True)
    assert (reports / "bundles" / f"{period}.json").read_text() == bundle
