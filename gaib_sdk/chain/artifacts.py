"""Compiled contract artifacts (ABI + bytecode) and revert decoding."""

from __future__ import annotations

import argparse
import ast
import json
from collections.abc import Callable, Iterable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_utils.abi import function_signature_to_4byte_selector
from eth_utils.address import is_address, to_checksum_address

from gaib_sdk.errors import GaibConfigError

__all__ = ["load_artifact", "load_artifact_file", "decode_revert", "revert_data", "register_error_abi"]

_PACKAGE = "gaib_sdk.contracts"
_ERRORS: dict[bytes, tuple[str, list[str], list[str]]] = {}


@cache
def load_artifact(name: str) -> dict[str, Any]:
    """One of the SDK's own contracts, as shipped in the package."""
    ref = resources.files(_PACKAGE).joinpath("artifacts", f"{name}.json")
    if not ref.is_file():
        raise GaibConfigError(f"no compiled artifact for {name!r} in the gaib_sdk package")
    art: dict[str, Any] = json.loads(ref.read_text())
    register_error_abi(art["abi"])
    return art


def save_built_artifacts(
    artifacts: dict[str, dict[str, Any]], names: Iterable[str], target: Path, package: str
) -> Path:
    """Write the named artifacts of a set-up build (third-party code compiled from an npm package) into
    ``target``, each marked with the package and version it was built from; returns ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        art = {**artifacts[name], "package": package}
        (target / f"{name}.json").write_text(json.dumps(art, indent=1, sort_keys=True) + "\n")
    return target


def build_command(build: Callable[[Path | None, Path | None], Path], what: str, doc: str | None) -> int:
    """The command line of a set-up build, ``python -m MODULE [--node-modules PATH] [--out PATH]``: runs
    ``build(node_modules, out)`` and says where ``what`` was built."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--node-modules", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    print(f"built {what} into {build(args.node_modules, args.out)}")
    return 0


def load_built_artifact(path: Path, missing: str) -> dict[str, Any]:
    """An artifact written by :func:`save_built_artifacts`; GaibConfigError ``missing`` (what to run) if the
    build has not been done."""
    if not path.exists():
        raise GaibConfigError(missing)
    return load_artifact_file(path)


def load_artifact_file(path: Path) -> dict[str, Any]:
    """An artifact built at set-up (third-party protocol code) or by a plugin."""
    try:
        art: dict[str, Any] = json.loads(Path(path).read_text())
    except FileNotFoundError as exc:
        raise GaibConfigError(f"artifact {path} does not exist: build it first") from exc
    register_error_abi(art["abi"])
    return art


def _type_str(param: dict[str, Any]) -> str:
    if param["type"].startswith("tuple"):
        inner = ",".join(_type_str(c) for c in param["components"])
        return f"({inner}){param['type'][5:]}"
    return str(param["type"])


def register_error_abi(abi: list[dict[str, Any]]) -> None:
    """Learn the custom errors of an ABI, so reverts that use them can be decoded by name."""
    for item in abi:
        if item.get("type") != "error":
            continue
        types = [_type_str(p) for p in item["inputs"]]
        selector = function_signature_to_4byte_selector(f"{item['name']}({','.join(types)})")
        _ERRORS[selector] = (item["name"], [p["name"] for p in item["inputs"]], types)


_BUILTIN = {
    bytes.fromhex("08c379a0"): ("Error", ["message"], ["string"]),
    bytes.fromhex("4e487b71"): ("Panic", ["code"], ["uint256"]),
}


def decode_revert(data: bytes) -> tuple[str, dict[str, Any]] | None:
    """(error name, arguments) for revert data whose error is known, else None."""
    if len(data) < 4:
        return None
    known = _ERRORS.get(data[:4]) or _BUILTIN.get(data[:4])
    if known is None:
        return None
    name, names, types = known
    try:
        values = abi_decode(types, data[4:])
    except Exception:  # malformed data: report the name only
        return name, {}
    return name, {n or f"arg{i}": _readable(v) for i, (n, v) in enumerate(zip(names, values, strict=True))}


def _readable(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, str) and is_address(value):
        return to_checksum_address(value)
    return value


def revert_data(exc: BaseException) -> bytes | None:
    """The raw revert data carried by an exception from web3 (JSON-RPC) or eth-tester, if any."""
    data = getattr(exc, "data", None)
    if isinstance(data, str) and data.startswith("0x"):
        return bytes.fromhex(data[2:])
    if isinstance(data, bytes):
        return data
    # eth-tester: "execution reverted: b'...'" with the data as a Python bytes literal.
    text = str(exc.args[0]) if exc.args else ""
    marker = "execution reverted: "
    if marker in text:
        literal = text.split(marker, 1)[1]
        try:
            value = ast.literal_eval(literal)
        except (ValueError, SyntaxError):
            return None
        return value if isinstance(value, bytes) else None
    return None
