"""A development chain that outlives one command: anvil in the background, its state kept in
``$GAIB_HOME/dev/`` (``gaib dev start|status|time|stop|reset``).

anvil runs with ``--state``: it loads the chain from ``state.json`` when it starts and writes it back when it
stops, so a deployment, its assets and deals are still there after ``gaib dev stop`` and ``gaib dev start``.
``node.json`` names the running node (pid, URL); ``anvil.log`` is its output. The node is stopped by its pid.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from gaib_sdk.errors import GaibConfigError
from gaib_sdk.paths import gaib_home
from gaib_sdk.testing.anvil import find_anvil, node_rpc

__all__ = ["advance", "reset", "running", "start", "stop"]

DEFAULT_PORT = 8545
_LISTENING = re.compile(r"Listening on 127\.0\.0\.1:(\d+)")


def _folder() -> Path:
    return gaib_home() / "dev"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running() -> dict[str, Any] | None:
    """The running dev chain ({pid, url, state, chain_id, block}), or None. A node file left by a node that
    is gone (a reboot, a kill) is removed."""
    node = _folder() / "node.json"
    if not node.exists():
        return None
    info: dict[str, Any] = json.loads(node.read_text())
    if _alive(int(info["pid"])):
        try:
            info["chain_id"] = int(node_rpc(info["url"], "eth_chainId"), 16)
            info["block"] = int(node_rpc(info["url"], "eth_blockNumber"), 16)
            return info
        except OSError:
            pass
    node.unlink(missing_ok=True)
    return None


def start(port: int = DEFAULT_PORT, timeout: float = 20) -> dict[str, Any]:
    """Start anvil in the background on 127.0.0.1:``port`` (0: any free port), from the saved state if there
    is one. Refused if a dev chain is running already."""
    now = running()
    if now is not None:
        raise GaibConfigError(f"a dev chain is running already at {now['url']} (pid {now['pid']}): gaib dev stop")
    binary = find_anvil()
    if binary is None:
        raise GaibConfigError("anvil is not installed: `npm ci` (it is @foundry-rs/anvil), or set GAIB_ANVIL")
    folder = _folder()
    folder.mkdir(parents=True, exist_ok=True)
    state, log_path = folder / "state.json", folder / "anvil.log"
    resumed = state.exists()
    log_path.unlink(missing_ok=True)  # a banner left from the last run must not be read as this one's
    # Started through sh in the background, so that it outlives this command and nothing here waits for it.
    launcher = subprocess.run(
        ["/bin/sh", "-c", 'exec "$@" >"$GAIB_DEV_LOG" 2>&1 </dev/null & echo $!', "sh", str(binary)]
        + ["--host", "127.0.0.1", "--port", str(port), "--state", str(state)],
        env={**os.environ, "GAIB_DEV_LOG": str(log_path)},
        capture_output=True,
        text=True,
        check=True,
        start_new_session=True,  # not stopped by the terminal's Ctrl-C
    )
    pid = int(launcher.stdout.strip())
    deadline = time.monotonic() + timeout
    while True:
        text = log_path.read_text(errors="replace") if log_path.exists() else ""
        if not _alive(pid):
            raise GaibConfigError(f"anvil exited at start (is port {port} taken?): {text[-400:].strip()}")
        found = _LISTENING.search(text)
        if found is not None:
            url = f"http://127.0.0.1:{found[1]}"
            try:
                chain_id = int(node_rpc(url, "eth_chainId"), 16)
                break
            except OSError:
                pass
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            raise GaibConfigError(f"anvil did not answer within {timeout} s; its output is in {log_path}")
        time.sleep(0.05)
    info = {"pid": pid, "url": url, "state": str(state), "log": str(log_path)}
    (folder / "node.json").write_text(json.dumps(info, indent=2) + "\n")
    return {**info, "chain_id": chain_id, "resumed": resumed}


def stop(timeout: float = 20) -> dict[str, Any]:
    """Stop the dev chain (SIGTERM: anvil writes its state first). Refused if none is running."""
    info = running()
    if info is None:
        raise GaibConfigError("no dev chain is running: gaib dev start")
    pid = int(info["pid"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
    (_folder() / "node.json").unlink(missing_ok=True)
    return {"stopped": pid, "url": info["url"], "state": info["state"]}


def reset() -> dict[str, Any]:
    """Forget the saved chain (its state file); the next start is a fresh chain. Refused while it runs."""
    if running() is not None:
        raise GaibConfigError("the dev chain is running: gaib dev stop first, then reset")
    state = _folder() / "state.json"
    existed = state.exists()
    state.unlink(missing_ok=True)
    return {"state": str(state), "removed": existed}


def advance(seconds: int) -> dict[str, Any]:
    """Move the dev chain's clock ``seconds`` forward and mine a block at the new time."""
    if seconds <= 0:
        raise GaibConfigError(f"the clock only moves forward: give a positive number of seconds (got {seconds})")
    info = running()
    if info is None:
        raise GaibConfigError("no dev chain is running: gaib dev start")
    node_rpc(info["url"], "evm_increaseTime", seconds)
    node_rpc(info["url"], "evm_mine")
    block = node_rpc(info["url"], "eth_getBlockByNumber", "latest", False)
    return {"url": info["url"], "block": int(block["number"], 16), "timestamp": int(block["timestamp"], 16)}
