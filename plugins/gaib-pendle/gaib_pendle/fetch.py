"""Fetch Pendle's compiled contracts from the npm registry, at set-up.

    python -m gaib_pendle.fetch [--out DIR] [--tarball PATH] [--node-modules PATH] [--force]

Pendle's code is never committed. ``npm install @pendle/core-v2`` fails (one of its dependencies is not on
the registry), so this takes the package itself with ``npm pack @pendle/core-v2@6.11.0``, reads the few
artifacts (ABI and bytecode, from the package's ``build/artifacts``) that a deployment needs straight out
of the tarball, and writes them to ``$GAIB_HOME/artifacts/pendle-core-v2-6.11.0/``. Pendle's factories
sit behind an ERC-1967 proxy that the package does not ship: OpenZeppelin's ``ERC1967Proxy`` is compiled
here from the ``@openzeppelin/contracts`` of ``npm ci``. Idempotent: when every artifact is there it does
nothing (``--force`` fetches again). ``--tarball`` uses a package tarball already downloaded.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from gaib_pendle.artifacts import NEEDED, PACKAGE, PENDLE_VERSION, PROXY, artifact_dir, missing
from gaib_sdk import GaibError
from gaib_sdk.contracts.compiler import compile_sources, find_node_modules

PROXY_SOURCE = "@openzeppelin/contracts/proxy/ERC1967/ERC1967Proxy.sol"


def npm_pack(dest: Path) -> Path:
    """``npm pack @pendle/core-v2@<version>`` into ``dest``; the tarball's path."""
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm is not on PATH: install Node.js (npm) to fetch Pendle")
    proc = subprocess.run(
        [npm, "pack", f"{PACKAGE}@{PENDLE_VERSION}", "--pack-destination", str(dest), "--silent"],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"npm pack {PACKAGE}@{PENDLE_VERSION} failed: {proc.stderr.strip()[-1000:]}")
    found = sorted(dest.glob("*.tgz"))
    if not found:
        raise SystemExit(f"npm pack {PACKAGE}@{PENDLE_VERSION} left no tarball in {dest}")
    return found[0]


def extract(tarball: Path) -> dict[str, dict[str, Any]]:
    """The needed artifacts, read from the package tarball (nothing else of it is written anywhere)."""
    out: dict[str, dict[str, Any]] = {}
    with tarfile.open(tarball, "r:gz") as tar:
        meta = tar.extractfile("package/package.json")
        version = json.loads(meta.read()).get("version") if meta else None
        if version != PENDLE_VERSION:
            raise SystemExit(f"expected {PACKAGE} {PENDLE_VERSION} in {tarball}, found {version}")
        for name, inner in NEEDED.items():
            member = tar.extractfile(f"package/build/artifacts/{inner}")
            if member is None:
                raise SystemExit(f"{tarball} has no build/artifacts/{inner}")
            art = json.loads(member.read())
            out[name] = {
                "contractName": art["contractName"],
                "sourceName": art["sourceName"],
                "abi": art["abi"],
                "bytecode": art["bytecode"],
                "linkReferences": art.get("linkReferences", {}),
                "package": f"{PACKAGE}@{PENDLE_VERSION}",
            }
    return out


def build_proxy(node_modules: Path | None = None) -> dict[str, Any]:
    """OpenZeppelin's ERC1967Proxy, compiled from node_modules with the SDK's compiler."""
    modules = node_modules or find_node_modules()
    source = (modules / PROXY_SOURCE).read_text()
    art = compile_sources({PROXY_SOURCE: source}, node_modules=modules)["ERC1967Proxy"]
    version = json.loads((modules / "@openzeppelin" / "contracts" / "package.json").read_text())["version"]
    art["package"] = f"@openzeppelin/contracts@{version}"
    return art


def fetch(
    out: Path | None = None, *, tarball: Path | None = None, node_modules: Path | None = None, force: bool = False
) -> Path:
    """Write the artifacts into ``out`` (default ``$GAIB_HOME/artifacts/pendle-core-v2-6.11.0``) unless they
    are all there already. Returns the folder."""
    target = out or artifact_dir()
    if not force and not missing(target):
        return target
    target.mkdir(parents=True, exist_ok=True)
    if not (target / f"{PROXY}.json").exists() or force:
        _write(target / f"{PROXY}.json", build_proxy(node_modules))
    if force or any(not (target / f"{name}.json").exists() for name in NEEDED):
        with tempfile.TemporaryDirectory(prefix="gaib-pendle-") as tmp:
            artifacts = extract(tarball or npm_pack(Path(tmp)))
        for name, art in artifacts.items():
            _write(target / f"{name}.json", art)
    return target


def _write(path: Path, art: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(art, indent=1, sort_keys=True) + "\n")
    tmp.replace(path)  # whole files only: an interrupted fetch is fetched again


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--tarball", type=Path, default=None, help="a package tarball already downloaded")
    parser.add_argument("--node-modules", type=Path, default=None)
    parser.add_argument("--force", action="store_true", help="fetch again even if present")
    args = parser.parse_args()
    target = args.out or artifact_dir()
    if not args.force and not missing(target):
        print(f"Pendle {PENDLE_VERSION} artifacts already in {target}")
        return 0
    try:
        path = fetch(target, tarball=args.tarball, node_modules=args.node_modules, force=args.force)
    except GaibError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"fetched Pendle {PENDLE_VERSION} artifacts into {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
