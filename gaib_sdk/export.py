"""What an integrator takes away (``gaib export --out DIR``): the protocol's ABIs, its addresses on every
chain the deployments file knows, Solidity interfaces, and a TypeScript module.

- ``abi/<Contract>.json``: each contract's ABI, as compiled;
- ``addresses.json``: ``{"<chain id>:<genesis hash>": {"chain_id", "contracts", "venues"}}``;
- ``solidity/I<Contract>.sol``: an interface per contract, written from its ABI (functions, events, custom
  errors, the structs they use), so a Solidity integration calls the protocol with the compiler checking
  every type; ``tests/test_export.py`` compiles them and checks that each interface's ABI is its contract's;
- ``typescript/gaib.ts``: every ABI ``as const`` (viem and wagmi infer argument and return types from it) and
  the addresses.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from gaib_sdk.chain.artifacts import load_artifact

__all__ = ["CONTRACTS", "export", "solidity_interface"]

#: The protocol's contracts an integrator calls or reads (not the test tokens, nor internal helpers).
CONTRACTS = (
    "AIDollar",
    "StakedAID",
    "CreditFacility",
    "AssetRegistry",
    "LeaseRegistry",
    "RevenueLockbox",
    "NodeAttestation",
    "GAIB",
    "SAIDOracle",
    "SAIDStandardizedYield",
)

PRAGMA = "pragma solidity ^0.8.20;"
_DYNAMIC = ("string", "bytes")


def _struct_name(param: dict[str, Any]) -> str:
    internal = str(param.get("internalType", ""))  # "struct CreditFacility.Deal[]"
    return internal.removeprefix("struct ").split(".")[-1].split("[")[0]


def _type(param: dict[str, Any], structs: dict[str, list[str]]) -> str:
    kind = str(param["type"])
    if not kind.startswith("tuple"):
        return kind
    name = _struct_name(param)
    if name not in structs:
        structs[name] = []  # reserved first: a struct that refers to itself stops here
        structs[name] = [f"{_type(c, structs)} {c['name']};" for c in param["components"]]
    return name + kind[len("tuple") :]


def _params(params: list[dict[str, Any]], structs: dict[str, list[str]], location: str) -> str:
    out = []
    for p in params:
        kind = _type(p, structs)
        dynamic = kind.endswith("]") or kind in _DYNAMIC or p["type"].startswith("tuple")
        words = [kind] + ([location] if dynamic and location else []) + ([p["name"]] if p.get("name") else [])
        out.append(" ".join(words))
    return ", ".join(out)


def solidity_interface(name: str, abi: list[dict[str, Any]]) -> str:
    """A Solidity interface ``I<name>`` with every function, event and custom error of ``abi``."""
    structs: dict[str, list[str]] = {}
    body: list[str] = []
    for item in sorted(abi, key=lambda i: (i["type"], i.get("name", ""))):
        if item["type"] == "function":
            mutability = {"view": " view", "pure": " pure", "payable": " payable"}.get(item["stateMutability"], "")
            returns = item.get("outputs") or []
            tail = f" returns ({_params(returns, structs, 'memory')})" if returns else ""
            body.append(
                f"    function {item['name']}({_params(item['inputs'], structs, 'calldata')}) external"
                f"{mutability}{tail};"
            )
        elif item["type"] == "event":
            fields = []
            for p in item["inputs"]:
                words = [_type(p, structs)] + (["indexed"] if p.get("indexed") else [])
                fields.append(" ".join(words + ([p["name"]] if p.get("name") else [])))
            anonymous = " anonymous" if item.get("anonymous") else ""
            body.append(f"    event {item['name']}({', '.join(fields)}){anonymous};")
        elif item["type"] == "error":
            body.append(f"    error {item['name']}({_params(item['inputs'], structs, '')});")
    struct_text = [
        f"    struct {struct} {{\n" + "\n".join(f"        {f}" for f in fields) + "\n    }\n"
        for struct, fields in structs.items()
    ]
    return (
        "// SPDX-License-Identifier: MIT\n"
        f"// Written by `gaib export` from {name}'s ABI: the functions, events and errors of the deployed contract.\n"
        f"{PRAGMA}\n\ninterface I{name} {{\n" + "".join(struct_text) + "\n".join(body) + "\n}\n"
    )


def _camel(name: str) -> str:
    """AIDollar -> aiDollarAbi, StakedAID -> stakedAidAbi, GAIB -> gaibAbi."""
    words = re.findall(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+", name)
    return str(words[0]).lower() + "".join(str(w).capitalize() for w in words[1:]) + "Abi"


def export(out: Path, deployments: dict[str, Any]) -> dict[str, Any]:
    """Write the kit into ``out`` (created if missing) and return what was written."""
    files: list[str] = []
    abis = {name: load_artifact(name)["abi"] for name in CONTRACTS}
    for folder in ("abi", "solidity", "typescript"):
        (out / folder).mkdir(parents=True, exist_ok=True)
    for name, abi in abis.items():
        (out / "abi" / f"{name}.json").write_text(json.dumps(abi, indent=2) + "\n")
        (out / "solidity" / f"I{name}.sol").write_text(solidity_interface(name, abi))
        files += [f"abi/{name}.json", f"solidity/I{name}.sol"]
    addresses = {
        key: {"chain_id": d["chain_id"], "contracts": d["contracts"], "venues": d.get("venues", {})}
        for key, d in sorted(deployments.items())
    }
    (out / "addresses.json").write_text(json.dumps(addresses, indent=2, sort_keys=True) + "\n")
    lines = [
        "// Written by `gaib export`: the gaib protocol's ABIs and addresses. viem infers types from `as const`.",
        "",
    ]
    for name, abi in abis.items():
        lines.append(f"export const {_camel(name)} = {json.dumps(abi)} as const;")
        lines.append("")
    lines.append(f"export const addresses = {json.dumps(addresses, sort_keys=True)} as const;")
    (out / "typescript" / "gaib.ts").write_text("\n".join(lines) + "\n")
    files += ["addresses.json", "typescript/gaib.ts"]
    return {"out": str(out), "contracts": list(CONTRACTS), "chains": list(addresses), "files": files}
