"""A throwaway PostgreSQL server for tests and benchmarks: initdb into a folder, started on a free port of
127.0.0.1, stopped by ``pg_ctl``. Needs the server's binaries (``initdb``, ``pg_ctl``, ``postgres``) on the
PATH, in /usr/local/bin or /usr/lib/postgresql/*/bin. PostgreSQL refuses to run as root: as root, the
server runs as the ``postgres`` user, in a folder of its own under the system's temporary folder.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from gaib_sdk.errors import GaibConfigError

__all__ = ["PostgresServer", "find_postgres"]


def find_postgres() -> Path | None:
    """The folder holding initdb and pg_ctl, or None."""
    found = shutil.which("initdb")
    candidates = [Path(found).parent] if found else []
    candidates += [Path("/usr/local/bin"), *(Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin")))]
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class PostgresServer:
    """``PostgresServer(folder).start()``; ``url`` for psycopg; ``stop()`` removes nothing but the server."""

    def __init__(self, folder: Path):
        self.bin = find_postgres()
        self.port = _free_port()
        self._as_root = os.geteuid() == 0
        # as root the data must live where the postgres user can reach it (pytest's tmp_path is 0700 root's)
        self.folder = Path(tempfile.mkdtemp(prefix="gaib-pg-")) if self._as_root else folder
        self.data = self.folder / "data"
        self.running = False

    @property
    def url(self) -> str:
        return f"postgresql://gaib@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        if self.bin is None:
            raise GaibConfigError("PostgreSQL's server is not installed (initdb, pg_ctl)")
        command = [str(self.bin / args[0]), *args[1:]]
        if self._as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise GaibConfigError(f"{args[0]} failed ({done.returncode}): {done.stderr.strip()[-500:]}")

    def start(self) -> PostgresServer:
        if self._as_root:
            shutil.chown(self.folder, "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "gaib", "--auth=trust", "-E", "UTF8")
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.folder / "log"), "-w", "start")
        self.running = True
        return self

    def stop(self) -> None:
        if self.running:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
            self.running = False
        if self._as_root:
            shutil.rmtree(self.folder, ignore_errors=True)
