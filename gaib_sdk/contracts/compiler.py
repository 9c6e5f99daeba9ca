"""Compile Solidity with solc-js from the npm registry.

Used at build time only: the SDK ships the compiled artifacts of its own contracts, so using it needs no
Node. Plugins use the same compiler for third-party protocol code that must be built at set-up (Morpho
Blue), and plugin authors for their own contracts.

The compiler is an npm package (``solc``, or an alias such as ``solc0819`` for a second version) driven
through standard JSON by ``solc_driver.js``, whose import callback resolves the source roots, then
``node_modules``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from gaib_sdk.errors import GaibConfigError, GaibError

__all__ = ["CompileError", "compile_sources", "find_node_modules"]

_DRIVER = Path(__file__).with_name("solc_driver.js")


class CompileError(GaibError):
    """solc reported errors, or could not be run."""


def find_node_modules(start: Path | None = None) -> Path:
    """The node_modules to take compilers and imports from: $GAIB_NODE_MODULES, else the nearest one
    at or above ``start`` (the working directory by default) that holds solc."""
    env = os.environ.get("GAIB_NODE_MODULES")
    if env:
        return Path(env)
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "node_modules"
        if (candidate / "solc" / "package.json").exists():
            return candidate
    raise GaibConfigError(
        f"no node_modules with solc found at or above {here}: run `npm ci` in the repository "
        "(or set GAIB_NODE_MODULES to a node_modules folder that has solc)"
    )


def compile_sources(
    sources: Mapping[str, str],
    *,
    compiler: str = "solc",
    evm_version: str = "cancun",
    optimizer_runs: int | None = 200,
    via_ir: bool = False,
    node_modules: Path | None = None,
    source_roots: Iterable[Path] = (),
) -> dict[str, dict[str, Any]]:
    """Compile ``sources`` (unit name -> Solidity text) and return ``{contract name: artifact}``
    for every contract of those units; an artifact holds abi, bytecode (0x-hex, link placeholders
    kept), linkReferences and the compiler version."""
    node = shutil.which("node")
    if node is None:
        raise CompileError("node is not on PATH: install Node.js to compile Solidity")
    modules = node_modules or find_node_modules()
    settings: dict[str, Any] = {
        "evmVersion": evm_version,
        "optimizer": {"enabled": optimizer_runs is not None, "runs": optimizer_runs or 200},
        "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.bytecode.linkReferences"]}},
    }
    if via_ir:
        settings["viaIR"] = True
    standard_input = {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sources.items()},
        "settings": settings,
    }
    args = [node, str(_DRIVER), compiler, str(modules), *(str(r) for r in source_roots)]
    try:
        proc = subprocess.run(args, input=json.dumps(standard_input), capture_output=True, text=True, check=False)
    except OSError as exc:
        raise CompileError(f"could not run the solc driver: {exc}") from exc
    if proc.returncode != 0:
        raise CompileError(f"solc driver failed ({compiler}): {proc.stderr.strip()[-2000:]}")
    output = json.loads(proc.stdout)
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise CompileError("\n".join(e.get("formattedMessage", e["message"]) for e in errors))
    version = json.loads((modules / compiler / "package.json").read_text())["version"]
    artifacts: dict[str, dict[str, Any]] = {}
    for unit in sources:
        for name, contract in output["contracts"].get(unit, {}).items():
            artifacts[name] = {
                "contractName": name,
                "sourceName": unit,
                "compiler": f"solc-js {version}",
                "abi": contract["abi"],
                "bytecode": "0x" + contract["evm"]["bytecode"]["object"],
                "linkReferences": contract["evm"]["bytecode"]["linkReferences"],
            }
    return artifacts
