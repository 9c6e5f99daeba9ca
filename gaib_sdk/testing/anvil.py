"""A real anvil node on 127.0.0.1 for tests and benchmarks: started on a free port, stopped by its pid.

anvil comes from the npm registry (``@foundry-rs/anvil``: the binary is in the per-platform package
``@foundry-rs/anvil-linux-amd64``) or the PATH. Plugin authors can test against it the way the SDK does::

    node = Anvil().start()
    try:
        client = await Gaib.connect(node.url, private_key=...)
        ...
    finally:
        node.stop()
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gaib_sdk.errors import ChainError, GaibConfigError

__all__ = ["Anvil", "find_anvil", "node_rpc"]

_PACKAGE = Path("node_modules") / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"


def find_anvil() -> Path | None:
    """anvil from $GAIB_ANVIL, the PATH, or node_modules (npm's @foundry-rs/anvil) here or above."""
    if os.environ.get("GAIB_ANVIL"):
        given = Path(os.environ["GAIB_ANVIL"])
        return given if given.is_file() else None
    found = shutil.which("anvil")
    if found:
        return Path(found)
    for base in (Path.cwd(), *Path.cwd().parents, Path(__file__).resolve().parents[2]):
        if (base / _PACKAGE).exists():
            return base / _PACKAGE
    return None


def node_rpc(url: str, method: str, *params: object) -> Any:
    """One JSON-RPC call to a node, outside the SDK (to steer a development node: mine, set balances)."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        answer = json.loads(response.read())
    if "error" in answer:
        raise ChainError(f"{method} failed on {url}: {answer['error']}")
    return answer.get("result")


#: anvil's banner line once it is serving: "Listening on 127.0.0.1:PORT".
_LISTENING = re.compile(r"Listening on 127\.0\.0\.1:(\d+)")


class Anvil:
    """anvil on 127.0.0.1. Extra command-line ``args`` go to anvil (``--chain-id 8453``, ``--state PATH``);
    ``fund`` accounts are given 10^24 wei at every start. The first start lets anvil take a free port itself
    (``--port 0``, read back from its banner), so two test processes never race for one; ``url`` is known
    from then on, and :meth:`restart` comes back on the same port."""

    def __init__(self, *args: str, binary: Path | None = None, fund: Iterable[str] = (), port: int | None = None):
        self.args = args
        self.binary = binary or find_anvil()
        self.fund = list(fund)
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: Path | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise GaibConfigError("this anvil has no port yet: start() it first")
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20) -> Anvil:
        if self.binary is None:
            raise GaibConfigError("anvil is not installed: `npm ci` (it is @foundry-rs/anvil), or set GAIB_ANVIL")
        # Its output goes to a file, not a pipe: a pipe nobody drains would stall anvil's request log.
        fd, name = tempfile.mkstemp(prefix="anvil-", suffix=".log")
        self._log = Path(name)
        with os.fdopen(fd, "wb") as log:
            self.proc = subprocess.Popen(
                [str(self.binary), "--host", "127.0.0.1", "--port", str(self.port or 0), *self.args],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while True:
            code = self.proc.poll()
            if code is not None:
                tail = self._log.read_text(errors="replace")[-500:].strip()
                self.stop()
                raise GaibConfigError(f"anvil ({self.binary}) exited with {code}: {tail}")
            try:
                if self.port is None:
                    found = _LISTENING.search(self._log.read_text(errors="replace"))
                    if found is None:
                        raise OSError("no port yet")
                    self.port = int(found[1])
                self.rpc("eth_chainId")
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise GaibConfigError(f"anvil ({self.binary}) did not answer within {timeout} s") from None
                time.sleep(0.05)
        for address in self.fund:
            self.rpc("anvil_setBalance", address, hex(10**24))
        return self

    def rpc(self, method: str, *params: object) -> Any:
        return node_rpc(self.url, method, *params)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self._log is not None:
            self._log.unlink(missing_ok=True)
            self._log = None

    def restart(self) -> None:
        """Stop the node and start it again on the same port (with ``--state``, from its saved state)."""
        self.stop()
        self.start()
