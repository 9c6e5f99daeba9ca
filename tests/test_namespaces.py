"""The client's rooms: ``gaib.aid``, ``gaib.deals``... share the client's session and sign as its account; the
old flat names still answer for one release, each with a DeprecationWarning naming its new place."""

from __future__ import annotations

import inspect
import re
from decimal import Decimal
from pathlib import Path

import pytest

from gaib_sdk import Gaib, GaibSync
from gaib_sdk.client import MOVED, client_method
from gaib_sdk.errors import BridgeError
from gaib_sdk.namespaces import Admin, Aid, Assets, Bridging, Deals, Namespace, Nodes, StakedAid, Venues

ROOMS = {
    "assets": Assets,
    "deals": Deals,
    "aid": Aid,
    "said": StakedAid,
    "nodes": Nodes,
    "venues": Venues,
    "admin": Admin,
    "bridge": Bridging,
}
STAGES = {"digitize", "financialize", "add_liquidity"}


def test_each_namespace_is_its_own_module_and_the_stage_verbs_stay_on_the_client() -> None:
    gaib = Gaib.offline()
    modules = {cls.__module__ for cls in ROOMS.values()}
    assert len(modules) == len(ROOMS) and all(m.startswith("gaib_sdk.namespaces.") for m in modules)
    for name, cls in ROOMS.items():
        room = getattr(gaib, name)
        assert type(room) is cls and isinstance(room, Namespace)
        assert getattr(gaib, name) is room  # made once per client
        assert room.client is gaib
    assert STAGES <= {n for n, _ in inspect.getmembers(Gaib, inspect.iscoroutinefunction)}
    # a namespace's public names are its own verbs: the client's helpers stay private there
    assert {n for n in dir(Namespace) if not n.startswith("_")} == {"client"}


def test_the_table_points_every_old_name_at_a_namespace_member() -> None:
    assert not set(MOVED) & {n for n in dir(Gaib) if not n.startswith("_")}, "an old name is still defined"
    for old, new in MOVED.items():
        room, member = new.split(".")
        assert room in ROOMS, old
        assert hasattr(ROOMS[room], member), f"{old} -> {new}: {ROOMS[room].__name__} has no {member}"


@pytest.mark.asyncio
async def test_every_old_name_resolves_to_its_new_place_and_warns() -> None:
    gaib = await Gaib.embedded()
    for old, new in MOVED.items():
        room, member = new.split(".")
        message = rf"Gaib\.{old} is now gaib\.{room}\.{member}; the old name will be removed in 0\.3"
        if isinstance(inspect.getattr_static(ROOMS[room], member), property):
            raised = None
            try:
                expected = getattr(getattr(gaib, room), member)
            except BridgeError as exc:  # gaib.bridge.attached: no bridge is attached here
                raised = type(exc)
            with pytest.warns(DeprecationWarning, match=message):
                if raised is None:
                    assert getattr(gaib, old) == expected
                else:
                    with pytest.raises(raised):
                        getattr(gaib, old)
            continue
        with pytest.warns(DeprecationWarning, match=message):
            found = getattr(gaib, old)
        assert found == getattr(getattr(gaib, room), member), old  # the same bound method
    # a name that never existed is an AttributeError, without a warning
    with pytest.raises(AttributeError, match="no attribute 'mint_aids'"):
        gaib.mint_aids  # noqa: B018
    await gaib.close()


@pytest.mark.asyncio
async def test_an_old_call_does_what_the_new_one_does() -> None:
    gaib = await Gaib.embedded()
    investor = gaib.with_account(2)
    await gaib.aid.whitelist(investor.address)
    await gaib.faucet(investor.address, Decimal(100))
    with pytest.warns(DeprecationWarning, match=r"Gaib\.mint_aid is now gaib\.aid\.mint"):
        receipt = await investor.mint_aid(Decimal(100))
    assert receipt.amount == Decimal(100) and await investor.aid.supply() == Decimal(100)
    # gaib.bridge was a method: calling the namespace is the old send, and says so
    with pytest.warns(DeprecationWarning, match=r"Gaib\.bridge\(\.\.\.\) is now gaib\.bridge\.send\(\.\.\.\)"):
        with pytest.raises(BridgeError, match="no bridge is attached"):
            await gaib.bridge("aid", Decimal(1), to="base")
    await gaib.close()


@pytest.mark.asyncio
async def test_namespaces_share_the_session_and_sign_as_their_clients_account() -> None:
    admin = await Gaib.embedded()
    investor = admin.with_account(2)
    assert investor.aid is not admin.aid and investor.aid.client is investor
    assert investor.aid.client.address != admin.address
    await admin.aid.whitelist(investor.address)
    await admin.faucet(investor.address, Decimal(50))
    await investor.aid.mint(Decimal(50))  # signed by the investor: the admin holds no USDC
    await investor.said.stake(Decimal(20))
    assert (await investor.balances())["sAID"] > 0 and (await admin.balances())["sAID"] == 0
    # one connection, one deployment, one venue state for every account's namespaces
    assert investor.venues.client.chain is admin.chain
    assert investor.deals.client.protocol is admin.protocol
    assert investor.venues.get("morpho") is not admin.venues.get("morpho")  # a venue per account view
    await admin.close()


def test_gaib_sync_follows_the_namespaces_without_copies() -> None:
    with GaibSync.embedded() as gaib:
        for name, cls in ROOMS.items():
            room = getattr(gaib, name)
            assert name in dir(gaib)
            for member, _ in inspect.getmembers(cls, inspect.iscoroutinefunction):
                if member.startswith("_"):
                    continue
                sync = getattr(room, member)
                assert callable(sync) and not inspect.iscoroutinefunction(sync), f"{name}.{member}"
                assert inspect.signature(sync) == inspect.signature(getattr(getattr(gaib.aio, name), member))
        investor = gaib.with_account(2)
        gaib.aid.whitelist(investor.address)
        gaib.faucet(investor.address, Decimal(10))
        assert investor.aid.mint(Decimal(10)).amount == Decimal(10)
        assert gaib.aid.supply() == Decimal(10)
        assert gaib.said.share_price() == Decimal(1)
        with pytest.warns(DeprecationWarning, match=r"Gaib\.aid_supply is now gaib\.aid\.supply"):
            assert gaib.aid_supply() == Decimal(10)
        with pytest.warns(DeprecationWarning, match=r"gaib\.bridge\.send"):
            with pytest.raises(BridgeError):
                gaib.bridge("aid", Decimal(1), to="base")


def test_the_api_reference_has_a_section_per_namespace_and_the_table_of_old_names() -> None:
    page = (Path(__file__).resolve().parent.parent / "docs" / "reference.md").read_text()
    for name, cls in ROOMS.items():
        assert f"### `gaib.{name}`" in page and f"::: gaib_sdk.namespaces.{cls.__name__}\n" in page, name
    listed = dict(re.findall(r"^\| `gaib\.(\w+)` \| `gaib\.([\w.]+)` \|$", page, re.M))
    assert listed == MOVED


def test_a_method_held_as_a_name_resolves_without_a_warning() -> None:
    gaib = Gaib.offline()
    assert client_method(gaib, "mint_aid") == gaib.aid.mint  # an old name, through the table
    assert client_method(gaib, "said.share_price") == gaib.said.share_price
    assert client_method(gaib, "digitize") == gaib.digitize
    with pytest.raises(AttributeError):
        client_method(gaib, "aid.mint_aid")
