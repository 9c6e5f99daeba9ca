"""scripts/bench_gas.py runs, end to end, on a small cluster. The figures themselves are not checked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_gas_runs_and_prints_both_tables() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench_gas.py"), "--gpus", "12", "--batch", "5"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
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
