"""Bad input, generated: malformed inventories (through `digitize`, from a file, as a user meets it), deal
terms and amounts. Every one is refused with a GaibError subclass that names the field, and nothing is
sent: the chain's history stays as it was.

Each strategy takes a valid input and breaks exactly one thing in it, so the field to name is known.
Examples are derandomized (the same ones every run) and no example database is written.
"""

from __future__ import annotations

import json
import re
import string
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from gaib_sdk import DealTerms, GaibError, GaibSync, GaibValueError, InventoryError
from gaib_sdk.client import client_method

from .conftest import AS_OF

SAMPLE = Path(__file__).resolve().parent.parent / "plugins" / "gaib-gpu" / "gaib_gpu" / "data" / "sample_cluster.json"


def fuzz(examples: int) -> Any:
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


def base_inventory() -> dict[str, Any]:
    """Two GPUs of the sample cluster, their telemetry, and its contracts: valid as it stands."""
    data = json.loads(SAMPLE.read_text())
    data["gpus"] = data["gpus"][:2]
    serials = {g["serial"] for g in data["gpus"]}
    data["telemetry"] = [t for t in data["telemetry"] if t["serial"] in serials]
    return data


BASE = base_inventory()
LETTERS = st.text(alphabet=string.ascii_letters, min_size=1, max_size=12)
BLANK = st.sampled_from(["", " ", "\t", "   \n"])
NOT_TEXT = st.one_of(st.integers(), st.floats(allow_nan=False), st.none(), st.lists(st.integers(), max_size=2))
NOT_LIST = st.one_of(st.integers(), LETTERS, st.none(), st.booleans())
TOO_LONG = st.text(alphabet=string.ascii_letters, min_size=201, max_size=240)
BAD_DATE = st.one_of(
    LETTERS, st.sampled_from(["2025-02-30", "2025-13-01", "01/09/2025", "2025-9-1x", "20250901x"]), st.none()
)
NOT_POSITIVE_MONEY = st.one_of(
    st.decimals(max_value=0, allow_nan=False, allow_infinity=False, places=2).map(str),
    st.sampled_from(["NaN", "Infinity", "-Infinity"]),
)
TOO_PRECISE = st.integers(1, 10**6).map(lambda n: f"{n}.1234567")
UUID = re.compile(r"^GPU-[0-9a-fA-F-]{36}$")


def not_int_in(low: int, high: int) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.integers(max_value=low - 1),
        st.integers(min_value=high + 1),
        st.floats().filter(lambda f: not (f == f and f.is_integer() and low <= f <= high)),
        LETTERS,
        st.none(),
    )


TEXT_FIELD = st.one_of(BLANK, NOT_TEXT)
GPU_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "server": TEXT_FIELD,
    "vendor": st.one_of(TEXT_FIELD, TOO_LONG),
    "model": st.one_of(TEXT_FIELD, TOO_LONG),
    "serial": st.one_of(TEXT_FIELD, TOO_LONG),
    "site": st.one_of(TEXT_FIELD, TOO_LONG),
    "uuid": st.one_of(NOT_TEXT, st.text(max_size=50).filter(lambda s: not UUID.match(s.strip()))),
    "memory_gb": not_int_in(1, 1024),
    "purchase_price_usd": st.one_of(NOT_POSITIVE_MONEY, TOO_PRECISE, LETTERS, st.none(), st.lists(st.integers())),
    "purchased_on": BAD_DATE,
}
TELEMETRY_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "serial": TEXT_FIELD,
    "observed_at": st.one_of(st.sampled_from(["2026-11-01T00:00:00", "2026-11-01 10:00"]), LETTERS, st.none()),
    "healthy": st.one_of(st.integers().filter(lambda i: i not in (0, 1)), st.sampled_from(["maybe", "2"]), st.none()),
    "utilisation": st.one_of(
        st.floats(max_value=-1e-9, allow_nan=False), st.floats(min_value=1.000001), LETTERS, st.none()
    ),
    "metrics": st.one_of(LETTERS, st.lists(st.integers(), min_size=1), st.dictionaries(LETTERS, LETTERS, min_size=1)),
}
CONTRACT_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "customer": TEXT_FIELD,
    "signed_on": BAD_DATE,
    "starts_on": BAD_DATE,
    "term_months": not_int_in(1, 120),
    "monthly_revenue_usd": st.one_of(
        st.decimals(max_value="-0.01", allow_nan=False, allow_infinity=False, places=2).map(str), TOO_PRECISE, LETTERS
    ),
    "payments": st.one_of(LETTERS, st.integers(), st.lists(LETTERS, min_size=1, max_size=2)),
}


OPTIONAL = {("contracts", "payments"), ("telemetry", "metrics")}  # missing is fine: they default to empty


@st.composite
def broken_row(draw: st.DrawFn, section: str, fields: dict[str, st.SearchStrategy[Any]]) -> tuple[dict[str, Any], str]:
    """The base inventory with one row of ``section`` broken: a field given a bad value, removed, or an
    unknown field added. Returns the inventory and the field path the error must name."""
    data = json.loads(json.dumps(BASE))
    rows = data[section]
    row = draw(st.integers(0, len(rows) - 1))
    how = draw(st.sampled_from(["bad value", "bad value", "bad value", "missing", "unknown"]))
    if how == "unknown":
        name = draw(LETTERS.filter(lambda k: k not in rows[row]))
        rows[row][name] = draw(st.one_of(LETTERS, st.integers()))
        return data, f"{section}[{row}].{name}"
    name = draw(st.sampled_from(sorted(fields)))
    if how == "missing" and (section, name) not in OPTIONAL:
        del rows[row][name]
    else:
        rows[row][name] = draw(fields[name])
    return data, f"{section}[{row}].{name}"


@st.composite
def broken_top(draw: st.DrawFn) -> tuple[Any, str]:
    data = json.loads(json.dumps(BASE))
    what = draw(st.sampled_from(["operator", "gpus", "unknown", "contracts", "telemetry", "not an object", "twins"]))
    if what == "operator":
        value = draw(st.one_of(BLANK, NOT_TEXT, st.just(None)))
        data["operator"] = value
        if draw(st.booleans()):
            del data["operator"]
        return data, "operator"
    if what == "gpus":
        data["gpus"] = draw(st.one_of(st.just([]), NOT_LIST, st.dictionaries(LETTERS, LETTERS)))
        return data, "gpus"
    if what in ("contracts", "telemetry"):
        data[what] = draw(st.one_of(st.integers(), LETTERS, st.booleans(), st.lists(NOT_LIST, min_size=1, max_size=2)))
        return data, what
    if what == "twins":  # the same GPU twice
        data["gpus"][1] = dict(data["gpus"][0])
        return data, "serial"
    if what == "unknown":
        name = draw(LETTERS.filter(lambda k: k not in data))
        data[name] = draw(st.one_of(LETTERS, st.integers()))
        return data, name
    return draw(st.one_of(st.lists(st.integers()), LETTERS, st.integers(), st.none())), "JSON object"


@pytest.fixture(scope="module")
def client() -> Iterator[GaibSync]:
    """An embedded chain with the protocol deployed, shared by every example (none of which may send)."""
    with GaibSync.embedded() as gaib:
        yield gaib


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="gaib-fuzz-") as path:
        yield Path(path)


def refused_by_digitize(client: GaibSync, folder: Path, data: Any, field: str) -> None:
    path = folder / "inventory.json"
    path.write_text(json.dumps(data))
    sent = list(client.chain.history)
    with pytest.raises(GaibError) as exc:
        client.digitize("gpu", path)
    error = exc.value
    assert isinstance(error, InventoryError), repr(error)
    named = (error.field or "") + " " + str(error)
    assert field in named, f"{field!r} is not named in {named!r}"
    assert client.chain.history == sent


@pytest.mark.parametrize(
    ("section", "fields", "examples"),
    [("gpus", GPU_FIELDS, 900), ("telemetry", TELEMETRY_FIELDS, 400), ("contracts", CONTRACT_FIELDS, 400)],
)
def test_malformed_inventory_rows_are_refused_naming_the_field(
    client: GaibSync, folder: Path, section: str, fields: dict[str, st.SearchStrategy[Any]], examples: int
) -> None:
    @fuzz(examples)
    @given(broken_row(section, fields))
    def check(case: tuple[dict[str, Any], str]) -> None:
        data, field = case
        refused_by_digitize(client, folder, data, field)

    check()


@fuzz(400)
@given(broken_top())
def test_malformed_inventories_are_refused_naming_the_field(
    client: GaibSync, folder: Path, case: tuple[Any, str]
) -> None:
    data, field = case
    refused_by_digitize(client, folder, data, field)


TERMS_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "structure": st.one_of(LETTERS.filter(lambda s: s not in ("fixed", "revenue_share", "hybrid")), st.integers()),
    "rate_bps": not_int_in(0, 5000),
    "revenue_share_bps": not_int_in(0, 7000),
    "fee_bps": not_int_in(0, 1000),
    "term_days": not_int_in(90, 1095),
}


@st.composite
def broken_terms(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    terms: dict[str, Any] = {"structure": "revenue_share", "revenue_share_bps": 6000}
    how = draw(st.sampled_from(["bad value", "bad value", "bad value", "unknown", "share out of range"]))
    if how == "unknown":
        name = draw(LETTERS.filter(lambda k: k not in TERMS_FIELDS))
        terms[name] = 1
        return terms, name
    if how == "share out of range":
        terms["revenue_share_bps"] = draw(st.integers(0, 4999) | st.integers(7001, 10**6))
        return terms, "revenue_share_bps"
    name = draw(st.sampled_from(sorted(TERMS_FIELDS)))
    terms[name] = draw(TERMS_FIELDS[name])
    return terms, name


@fuzz(600)
@given(case=broken_terms())
def test_malformed_terms_are_refused_naming_the_field(client: GaibSync, case: tuple[dict[str, Any], str]) -> None:
    # Terms given as a dict are validated by the client: a GaibValueError naming the field, before any
    # transaction. (A DealTerms built by the caller refuses bad terms itself, with pydantic's ValueError.)
    terms, field = case
    sent = list(client.chain.history)
    with pytest.raises(GaibValueError) as exc:
        client.deals.quote("gpu", SAMPLE, as_of=AS_OF, terms=terms)
    assert field in str(exc.value)
    with pytest.raises(ValidationError):
        DealTerms(**terms)
    assert client.chain.history == sent


BAD_AMOUNTS = st.one_of(
    LETTERS,
    st.sampled_from(["NaN", "sNaN", "Infinity", "-Infinity", "1e", "--1", "1,000", "", " "]),
    st.decimals(max_value="-0.000001", allow_nan=False, allow_infinity=False, places=6),
    st.integers(max_value=-1),
    st.integers(1, 10**9).map(lambda n: f"{n}." + "1" * 19),  # more decimals than USDC (6) or AID (18) has
    st.none(),
    st.lists(st.integers(), max_size=1),
)
AMOUNT_CALLS = {  # what the message must name
    "aid.mint": "USDC amount",
    "aid.redeem": "AID amount",
    "said.stake": "AID amount",
    "said.request_unstake": "sAID shares",
    "faucet": "USDC amount",
    "deals.repay": "repayment",
}


@fuzz(1000)
@given(st.sampled_from(sorted(AMOUNT_CALLS)), BAD_AMOUNTS)
def test_malformed_amounts_are_refused_naming_the_field(client: GaibSync, method: str, amount: Any) -> None:
    call = client_method(client, method)
    args = {"faucet": (client.address, amount), "deals.repay": (1, amount)}
    sent = list(client.chain.history)
    with pytest.raises(GaibValueError) as exc:
        call(*args.get(method, (amount,)))
    assert AMOUNT_CALLS[method] in str(exc.value) or "must be more than 0" in str(exc.value), str(exc.value)
    assert client.chain.history == sent
