"""Every subcommand fed malformed values: never a traceback, always a non-zero exit and a message, and under
--json one JSON object that names the error. The node is one that does not answer, so what parses fails
cleanly at the connection (or earlier, at the check that refuses it)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import click
import pytest

from gaib_sdk.cli import gaib, main
from gaib_sdk.cli_types import ADDRESS, AMOUNT, BYTES32, DAY

DOWN = "http://127.0.0.1:9"  # the discard port: nothing answers there
#: Commands that start or run something long even on good input (anvil, a scenario, files): tested elsewhere.
SKIP = {("bench",), ("report",), ("quickstart",), ("dev",), ("plugin",)}
BAD = ["abc", "-1", "nan", "0x" + "g" * 40, "9" * 80]


def _leaves(command: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every command of the tree that runs something (not a group), with its words."""
    if not isinstance(command, click.Group):
        yield path, command
        return
    for name, sub in command.commands.items():
        if (*path, name)[:1] not in SKIP:
            yield from _leaves(sub, (*path, name))


def _cases() -> Iterator[Any]:
    for path, command in _leaves(gaib):
        positionals = [p for p in command.params if isinstance(p, click.Argument)]
        for index, target in enumerate(positionals):
            for bad in BAD:
                # the other positionals get a plausible value, so that the bad one is what is judged
                words = [bad if i == index else _plausible(a) for i, a in enumerate(positionals)]
                yield pytest.param([*path, *words], id=f"{' '.join(path)}:{target.name}={bad[:12]}")
        typed = (
            p
            for p in command.params
            if isinstance(p, click.Option) and not p.is_flag and p.type is not click.STRING and p.name != "help"
        )
        for option in typed:
            words = [_plausible(a) for a in positionals]
            yield pytest.param([*path, *words, option.opts[0], "abc"], id=f"{' '.join(path)}:{option.name}")


def _plausible(param: click.Parameter) -> str:
    kind = param.type
    if isinstance(kind, click.types.IntParamType | click.types.FloatParamType):
        return "1"
    if isinstance(kind, click.Choice):
        return str(kind.choices[0])
    plausible = {ADDRESS: "0x" + "11" * 20, AMOUNT: "10", BYTES32: "0x" + "22" * 32, DAY: "2026-11-25"}
    return str(plausible.get(kind, "gpu" if param.name == "kind" else "x"))  # type: ignore[call-overload]


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
        except SystemExit as exc:  # never: main() returns the status, usage errors included
            pytest.fail(f"{words}: SystemExit({exc.code})")
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
