"""A real anvil node on 127.0.0.1, started and stopped by the tests (Foundry's anvil from the npm registry)."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from eth_account import Account
from eth_utils.crypto import keccak

ROOT = Path(__file__).resolve().parent.parent
BINARY = ROOT / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"

#: Test keys of our own, funded by the fixture through anvil_setBalance: never real funds.
KEYS = ["0x" + keccak(text=f"gaib-sdk test account {i}").hex() for i in range(6)]
ADDRESSES = [Account.from_key(k).address for k in KEYS]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Anvil:
    def __init__(self, *args: str):
        self.args = args
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Anvil:
        if not BINARY.exists():
            raise RuntimeError(f"anvil is not installed at {BINARY}: run `npm ci`")
        self.proc = subprocess.Popen(
            [str(BINARY), "--host", "127.0.0.1", "--port", str(self.port), "--silent", *self.args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"anvil exited with {self.proc.returncode}")
            try:
                self.rpc("eth_chainId")
            except OSError:
                time.sleep(0.05)
                continue
            for address in ADDRESSES:
                self.rpc("anvil_setBalance", [address, hex(10**24)])
            return self
        self.stop()
        raise RuntimeError("anvil did not answer within 20 s")

    def rpc(self, method: str, params: list[object] | None = None) -> object:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
        req = urllib.request.Request(self.url, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            return json.loads(resp.read())["result"]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        """Stop the node and start a fresh one on the same port: all state is gone."""
        self.stop()
        self.start()
