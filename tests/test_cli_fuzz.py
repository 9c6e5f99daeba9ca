"""Every subcommand fed malformed values: never a traceback, always a non-zero exit and a message, and under
--json one JSON object that names the error. The node is one that does not answer, so what parses fails
cleanly at the connection (or earlier, at the check that refuses it)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from typing import Any

import pytest

from gaib_sdk.cli import build_parser, main

DOWN = "http://127.0.0.1:9"  # the discard port: nothing answers there
#: Commands that start or run something long even on good input (anvil, a scenario, files): tested elsewhere.
SKIP = {("bench",), ("report",), ("quickstart",), ("dev",), ("plugin",)}
BAD = ["abc", "-1", "nan", "0x" + "g" * 40, "9" * 80]


def _leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, parser
    for action in subs:
        for name, sub in action.choices.items():
            if (*path, name)[:1] not in SKIP:
                yield from _leaves(sub, (*path, name))


def _cases() -> Iterator[Any]:
    for path, parser in _leaves(build_parser()):
        positionals = [a for a in parser._actions if not a.option_strings and a.dest != "help"]
        for index, target in enumerate(positionals):
            for bad in BAD:
                # the other positionals get a plausible value, so that the bad one is what is judged
                words = [bad if i == index else _plausible(a) for i, a in enumerate(positionals)]
                yield pytest.param([*path, *words], id=f"{' '.join(path)}:{target.dest}={bad[:12]}")
        for option in (a for a in parser._actions if a.option_strings and a.type is not None):
            words = [_plausible(a) for a in positionals]
            yield pytest.param([*path, *words, option.option_strings[0], "abc"], id=f"{' '.join(path)}:{option.dest}")


def _plausible(action: argparse.Action) -> str:
    if action.type is int:
        return "1"
    if action.choices:
        return str(next(iter(action.choices)))
    name = getattr(action.type, "__name__", "")
    return {"address": "0x" + "11" * 20, "amount": "10", "bytes32": "0x" + "22" * 32, "day": "2026-11-25"}.get(
        name, "gpu" if action.dest == "kind" else "x"
    )


CASES = list(_cases())


def test_the_fuzz_covers_the_command_line() -> None:
    assert len(CASES) >= 150, len(CASES)


@pytest.mark.parametrize("argv", CASES)
def test_a_malformed_invocation_is_one_message_never_a_traceback(
    argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GAIB_RPC", DOWN)
    monkeypatch.setenv("GAIB_PRIVATE_KEY", "0x" + "33" * 32)
    for as_json in (False, True):
        words = [*argv, "--json"] if as_json else argv
        try:
            code: Any = main(words)
        except SystemExit as exc:  # argparse's usage error
            code = exc.code
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        if code == 0:  # a value that is not malformed for this argument (a name, a free-form word): fine
            continue
        assert code in (1, 2), (words, code, err)
        if as_json:
            error = json.loads(out)["error"]
            assert error["type"] and error["message"], words
            assert error["type"] != "InternalError", (words, error)  # an unexpected exception: a bug
        else:
            assert err.strip(), words
            assert "error: unexpected" not in err, (words, err)
