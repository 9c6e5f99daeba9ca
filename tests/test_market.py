"""Issue 13, independent collateral value: a market-price source (hook ``register_market_prices``), the GPU
plugin's dated and sourced price table, the stated-price check, liquidation values and ``gaib remark``."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal as D
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from gaib_sdk import Gaib, InventoryError, MarketPriceSource, UnderwritingError, hookimpl
from gaib_sdk.cli import main
from gaib_sdk.models import Inventory, MarketPrice

from .conftest import AS_OF, Actors
from .http_server import StaticServer


@pytest.fixture
def offline() -> Gaib:
    return Gaib.offline()


def _priced(inventory: Inventory, usd: str, rows: int | None = None) -> Inventory:
    data = inventory.model_dump(mode="json")
    for g in data["assets"][:rows]:
        g["purchase_price_usd"] = usd
    return Inventory.model_validate(data)


@pytest.mark.asyncio
async def test_a_stated_price_far_above_the_market_is_refused_naming_the_asset(offline: Gaib) -> None:
    """Before, 64 H100s stated at $45,000 were appraised on the invoice (a $1.62M advance)."""
    sample = await offline.assets.read_inventory("gpu")
    with pytest.raises(UnderwritingError) as exc:
        await offline.deals.quote("gpu", _priced(sample, "45000"), as_of=AS_OF)
    assert exc.value.rule == "stated_price"
    msg = str(exc.value)
    assert msg.startswith("asset row 1 (serial '1654922000000', H100 SXM5 80GB) is stated at 45,000.00 USD")
    assert "market's new price of 27,500.00 USD (2023-06-01" in msg and "techspot.com" in msg
    assert "by more than 25% (at most 34,375.00, CreditPolicy.max_price_premium)" in msg
    # one row is enough, and it is the one named
    with pytest.raises(UnderwritingError, match=r"^asset row 1 "):
        await offline.deals.quote("gpu", _priced(sample, "45000", rows=1), as_of=AS_OF)
    # a policy that trusts the invoice more lets it through, and the market still caps the value
    q = await offline.deals.quote("gpu", _priced(sample, "45000"), as_of=AS_OF, policy={"max_price_premium": 1})
    assert q.binding == "market" and q.appraised_value_usd == D("18266.87") * 64
    with pytest.raises(Exception, match="credit policy field 'max_price_premium'"):
        await offline.deals.quote("gpu", sample, as_of=AS_OF, policy={"max_price_premium": -1})


def test_every_row_of_the_gpu_price_table_cites_a_source_or_says_why_it_is_assumed() -> None:
    table = json.loads(resources.files("gaib_gpu").joinpath("data", "market_prices.json").read_text())
    for row in table["prices"]:
        price = MarketPrice.model_validate(row)
        assert "https://" in price.source or price.assumption, row
        if price.used_usd is not None and price.new_usd is not None:
            assert price.used_usd <= price.new_usd
    for family, spec in table["models"].items():
        source = spec["residual_curve"]["source"]
        assert source.startswith(("https://", "assumption:")), family


def _table(used: str, observed_on: str = "2026-11-01", source: str = "a dealer's quote, 2026-11-01") -> str:
    return json.dumps(
        {"prices": [{"model": "H100", "observed_on": observed_on, "used_usd": used, "source": source}], "models": {}}
    )


@pytest.mark.asyncio
async def test_a_newer_price_table_from_a_file_or_a_url_marks_the_collateral_down(
    offline: Gaib, tmp_path: Path
) -> None:
    newer = tmp_path / "prices.json"
    newer.write_text(_table("15000"))
    q = await offline.deals.quote("gpu", as_of=AS_OF, prices=newer, stress={"enabled": False})
    # observed 24 days before the quote: no whole month to roll it forward
    assert q.binding == "market" and q.appraised_value_usd == D(15_000) * 64
    assert q.valuations[0].market_source == "a dealer's quote, 2026-11-01"
    with StaticServer({"/h100.json": _table("16000")}, content_type="application/json", not_found="{}") as server:
        q = await offline.deals.quote("gpu", as_of=AS_OF, prices=f"{server.url}/h100.json", stress={"enabled": False})
        assert server.requests == ["/h100.json"]
    assert q.appraised_value_usd == D(16_000) * 64
    # a newer row dated after the quote does not count: the quote sees what was known on its day
    newer.write_text(_table("15000", observed_on="2026-12-01"))
    q = await offline.deals.quote("gpu", as_of=AS_OF, prices=newer, stress={"enabled": False})
    assert q.appraised_value_usd == D("18266.87") * 64


@pytest.mark.asyncio
async def test_a_malformed_price_table_is_refused_naming_the_row(offline: Gaib, tmp_path: Path) -> None:
    bad = tmp_path / "prices.json"
    rows = [json.loads(_table("15000"))["prices"][0], {"model": "H100", "observed_on": "2026-11-02", "used_usd": "1"}]
    bad.write_text(json.dumps({"prices": rows}))
    with pytest.raises(InventoryError, match="prices row 2, field '\\(row\\)': a market price needs a source"):
        await offline.deals.quote("gpu", as_of=AS_OF, prices=bad)
    bad.write_text(json.dumps({"prices": [{**rows[0], "observed_on": "yesterday"}]}))
    with pytest.raises(InventoryError, match="prices row 1, field 'observed_on'"):
        await offline.deals.quote("gpu", as_of=AS_OF, prices=bad)


class _RobotPrices(MarketPriceSource):
    kind = "robot"

    def price(self, model: str, as_of: date) -> MarketPrice | None:
        return MarketPrice(model=model, observed_on=date(2026, 1, 1), used_usd=D(1000), source="a test auction")


class _RobotPricesPlugin:
    @hookimpl
    def register_market_prices(self, register: Callable[[type[Any]], None]) -> None:
        register(_RobotPrices)


@pytest.mark.asyncio
async def test_a_plugins_market_prices_cap_its_kinds_value() -> None:
    plain = Gaib.offline()
    before = await plain.deals.quote("robot", as_of=AS_OF, stress={"enabled": False})
    assert plain.deals.market_prices("robot") is None and before.market_value_usd is None
    gaib = Gaib.offline(plugins=(_RobotPricesPlugin(),))
    q = await gaib.deals.quote("robot", as_of=AS_OF, stress={"enabled": False})
    assert all(v.market_value_usd == D(1000) and v.value_usd == D(1000) for v in q.valuations)
    assert q.binding == "market" and q.appraised_value_usd == D(1000) * len(q.valuations)
    # liquidation at the policy's discounts to the market value
    assert q.orderly_liquidation_value_usd == D(850) * len(q.valuations)
    assert q.forced_liquidation_value_usd == D(650) * len(q.valuations)


@pytest.mark.asyncio
async def test_remark_shows_each_open_deals_ltv_against_its_current_value(
    actors: Actors, inventory: Inventory, financed: int
) -> None:
    rows = await actors.admin.deals.remark("gpu", [inventory], as_of=date(2027, 11, 25))
    assert [r["deal_id"] for r in rows] == [financed]
    row = rows[0]
    assert row["value_at_origination_usd"] == D("1169079.68")
    # a year on, the market's H100 price has fallen 20% and so has the collateral: the LTV is up
    assert row["current_value_usd"] is not None and row["current_value_usd"] < row["value_at_origination_usd"]
    assert (
        row["ltv_now"]
        > row["ltv_at_origination"]
        == (row["principal_outstanding_usd"] / D("1169079.68")).quantize(D("0.0001"))
    )
    # a deal whose inventory is not given is listed without a current value
    other = await actors.admin.assets.read_inventory("robot")
    assert (await actors.admin.deals.remark("gpu", [other], as_of=date(2027, 11, 25)))[0]["current_value_usd"] is None


def test_gaib_quote_takes_a_newer_price_table(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    newer = tmp_path / "prices.json"
    newer.write_text(_table("15000"))
    assert main(["quote", "gpu", "--as-of", AS_OF.isoformat(), "--prices", str(newer), "--json"]) == 0
    quote = json.loads(capsys.readouterr().out)
    assert quote["market_value_usd"] == "960000.00" and quote["binding"] == "market"
