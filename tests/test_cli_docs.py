"""docs/cli.md is true: every command and option it names exists in the `gaib` command tree, every command
of the tree is documented there, and the output its examples show is what the commands print. Also the
command line's surface: shell completion, help, and plain text off a terminal."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from gaib_sdk.cli import gaib, main

from .cli_docs import documented_outputs, mentions, table_options, text, usage_lines

#: Where each documented output shape is checked against what the command prints.
CHECKED_HERE = {"quote", "plugin new"}
CHECKED_IN_JOURNEYS = {"deploy", "admin grant", "digitize"}  # against anvil, in test_journeys.py
CHECKED_IN_TEST_CLI = {"dev start"}  # test_cli.py's dev-chain test


def _leaves(command: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    if not isinstance(command, click.Group):
        yield path
        return
    for name, sub in command.commands.items():
        yield from _leaves(sub, (*path, name))


def _option_names(command: click.Command) -> set[str]:
    named = {o for p in command.params if isinstance(p, click.Option) for o in (*p.opts, *p.secondary_opts)}
    return named | {"--help"}  # every command's


def test_every_command_the_page_names_exists() -> None:
    named = list(mentions())
    assert len(named) > 100
    unknown = sorted({words for words, _, command in named if command is None})
    assert unknown == [], f"docs/cli.md names commands that `gaib` does not have: {unknown}"


def test_every_option_the_page_names_exists_on_its_command() -> None:
    checked, wrong = 0, []
    for source in (usage_lines(), ((p, c, f"{opt}") for p, c, opt in table_options())):
        for path, command, line in source:
            for option in re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", line):
                checked += 1
                if option not in _option_names(command):
                    wrong.append(f"gaib {' '.join(path)} {option}")
    assert checked > 120, checked
    assert wrong == [], f"docs/cli.md names options these commands do not have: {wrong}"


def test_every_command_of_the_tree_is_documented() -> None:
    page = text()
    missing = [
        " ".join(path) for path in _leaves(gaib) if not re.search(rf"\bgaib {re.escape(' '.join(path))}(?![\w-])", page)
    ]
    assert missing == [], f"commands missing from docs/cli.md: {missing}"


def test_every_documented_output_is_checked_somewhere() -> None:
    # a new example of a command's output in docs/cli.md needs a check of that command's keys
    assert set(documented_outputs()) == CHECKED_HERE | CHECKED_IN_JOURNEYS | CHECKED_IN_TEST_CLI


def test_the_documented_quote_and_plugin_new_outputs_are_what_they_print(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    shapes = documented_outputs()
    assert main(["quote", "gpu", "--as-of", "2026-11-25", "--advance", "800000", "--json"]) == 0
    assert set(json.loads(capsys.readouterr().out)) == shapes["quote"].keys
    assert main(["quote", "gpu", "--as-of", "2026-11-25", "--advance", "800000"]) == 0  # for a person: the same keys
    printed = capsys.readouterr().out
    assert {line.split()[0] for line in printed.splitlines()} == shapes["quote"].keys
    assert "{'" not in printed and "0E-" not in printed  # no Python reprs
    assert main(["plugin", "new", "ev-charger", "--dir", str(tmp_path), "--json"]) == 0
    assert set(json.loads(capsys.readouterr().out)) == shapes["plugin new"].keys


def test_the_documented_error_object_is_what_json_prints(capsys: pytest.CaptureFixture[str]) -> None:
    (documented,) = [json.loads(b) for b in re.findall(r"```json\n(\{\n  \"error\".*?)```", text(), re.S)]
    assert main(["faucet", "0xabc", "100", "--rpc", "http://127.0.0.1:9", "--json"]) == 2
    printed = json.loads(capsys.readouterr().out)
    assert printed == documented  # the very example
    assert main(["quote", "gpu", "--bogus", "--json"]) == 2  # click's own usage errors, too
    assert set(json.loads(capsys.readouterr().out)["error"]) == {"type", "message"}


def test_shell_completion_is_produced(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_GAIB_COMPLETE", "bash_source")
    assert main([]) == 0
    script = capsys.readouterr().out
    assert "_gaib_completion()" in script and "complete -o nosort -F _gaib_completion gaib" in script
    monkeypatch.setenv("_GAIB_COMPLETE", "bash_complete")  # what the script asks for as a user types
    monkeypatch.setenv("COMP_WORDS", "gaib node reg")
    monkeypatch.setenv("COMP_CWORD", "2")
    assert main([]) == 0
    assert capsys.readouterr().out.split() == ["plain,register"]


def test_help_names_every_argument_and_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["repay", "--help"]) == 0
    shown = capsys.readouterr().out
    assert "DEAL    the deal's number" in shown and "AMOUNT  USDC" in shown
    assert "--idempotency-key, --key KEY" in shown and "[env var: GAIB_RPC]" in shown
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == "gaib-sdk 0.1.0\n"


def test_a_terminal_gets_colour_and_tables_a_pipe_plain_text(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert main(["networks"]) == 0  # off a terminal (here): plain `key value` lines
    plain = capsys.readouterr().out
    assert "\x1b[" not in plain and re.search(r"^base {2,}chain 8453", plain, re.M)
    monkeypatch.setenv("FORCE_COLOR", "1")  # as on a terminal
    assert main(["networks"]) == 0
    coloured = capsys.readouterr().out
    assert "\x1b[" in coloured and "chain 8453" in coloured
    monkeypatch.setenv("NO_COLOR", "1")  # NO_COLOR wins
    assert main(["networks"]) == 0
    assert capsys.readouterr().out == plain
    assert main(["quote", "gpu", "--advance", "abc"]) == 2
    assert (
        capsys.readouterr().err.splitlines()[1]
        == "error: gaib quote: argument --advance: 'abc' is not a number (e.g. 1000 or 1000.50)"
    )
