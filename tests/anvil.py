"""The tests' anvil: gaib_sdk.testing's, with test accounts of our own funded at every start."""

from __future__ import annotations

from pathlib import Path

from eth_account import Account
from eth_utils.crypto import keccak

from gaib_sdk.testing.anvil import Anvil as _Anvil

ROOT = Path(__file__).resolve().parent.parent

#: Test keys of our own, funded through anvil_setBalance: never real funds.
KEYS = ["0x" + keccak(text=f"gaib-sdk test account {i}").hex() for i in range(6)]
ADDRESSES = [Account.from_key(k).address for k in KEYS]


class Anvil(_Anvil):
    def __init__(self, *args: str, port: int | None = None):
        super().__init__(*args, fund=ADDRESSES, port=port)
