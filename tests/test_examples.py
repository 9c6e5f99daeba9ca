"""Each script in examples/ runs as a user would run it: a fresh interpreter, exit status 0, and the line of
output that shows it did its job. make_sample_cluster.py must reproduce the GPU plugin's sample byte for byte.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SAMPLE = ROOT / "plugins" / "gaib-gpu" / "gaib_gpu" / "data" / "sample_cluster.json"

#: GAIB_HOME as it was when pytest started, whatever a fixture does to it later: the Morpho example needs
#: the Morpho Blue artifact that set-up built under it.
_GAIB_HOME = os.environ.get("GAIB_HOME")

#: Each example, and a pattern that a line of its output must match.
EXPECTED = {
    "onboard_gpu_cluster.py": r"^sAID share price 1\.000000 -> 1\.0\d{5} AID$",
    "sync_client.py": r"^deal #1 repaid; collateral is active again$",
    "custom_asset_class.py": r"^digitized 3 solar inverters of Sunfield Rooftops BV:$",
    "morpho_position.py": r"^  borrow +50,000\.00 USDC  \(health_factor 1\.7200, liquidation_price_usdc 0\.581395\)$",
    "curve_exit.py": r"^holder sold 20,000\.00 AID for 19,9\d\d\.\d{6} USDC \(now holds 19,9\d\d\.\d\d USDC\)$",
    "pendle_fixed_yield.py": r"^at expiry 2,000 PT redeemed for 1,980\.\d{4} sAID = (2,000\.0000|1,999\.9999) AID",
    "cross_chain.py": r'^\{"balances": .*"invariant_holds": true\}\n\Z',
    "attest_gpu_cluster.py": r"^  inclusion proof of 6 hashes against root 0x[0-9a-f]{8}\.\.\.: verified on chain$",
    "zap_stake.py": r'"outsider_refused": true, "zap_holds_nothing": true}$',
    # the last line: LP B (account 3) 5.8M points, LP A (account 2) 14.25M, give or take the seconds between blocks
    "points.py": (
        r'^\{"points": \{"0x1efF47bc3a10a45D4B230B5d10E37751FE6AA718": "580\d{4}\.\d{6}", '
        r'"0x6813Eb9362372EEF6200f3b1dbC3f819671cBA69": "1425\d{4}\.\d{6}"\}, "root": "0x[0-9a-f]{64}", '
        r'"claimed": \{"0x6813Eb9362372EEF6200f3b1dbC3f819671cBA69": "71\d\d\.\d+", '
        r'"0x1efF47bc3a10a45D4B230B5d10E37751FE6AA718": "28\d\d\.\d+"\}\}$'
    ),
}


def _env() -> dict[str, str]:
    """The caller's environment, with every plugin loaded and GAIB_HOME as it was."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GAIB_")}
    if _GAIB_HOME is not None:
        env["GAIB_HOME"] = _GAIB_HOME
    return env


def _run(script: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script)], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=180
    )


def test_every_example_is_tested() -> None:
    scripts = {p.name for p in EXAMPLES.glob("*.py")}
    assert scripts - {"make_sample_cluster.py"} == set(EXPECTED)


@pytest.fixture(scope="module")
def runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Future[subprocess.CompletedProcess[str]]]]:
    """Start every selected example at once, one per CPU, each in an empty folder of its own."""
    selected = [
        item.callspec.params["name"]
        for item in request.session.items
        if getattr(item, "originalname", None) == "test_example_runs" and hasattr(item, "callspec")
    ]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        yield {n: pool.submit(_run, EXAMPLES / n, tmp_path_factory.mktemp("example")) for n in selected}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs(name: str, runs: dict[str, Future[subprocess.CompletedProcess[str]]]) -> None:
    proc = runs[name].result()
    assert proc.returncode == 0, f"{name} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    assert re.search(EXPECTED[name], proc.stdout, re.MULTILINE), f"{name} printed:\n{proc.stdout}"


def test_make_sample_cluster_reproduces_the_sample(tmp_path: Path) -> None:
    proc = _run(EXAMPLES / "make_sample_cluster.py", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.encode() == SAMPLE.read_bytes(), f"{SAMPLE.name} differs from what the script writes"
