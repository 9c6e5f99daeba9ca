"""docs/cli.md read as data: the `gaib` commands and options it names, and the output shapes its examples
show (the keys of a JSON object, or of `key value` lines). Used by test_cli_docs.py and test_journeys.py."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import click

from gaib_sdk.cli import gaib

DOC = Path(__file__).parent.parent / "docs" / "cli.md"
#: `gaib` followed by its words, in prose, code spans, blocks and headings.
MENTION = re.compile(r"\bgaib((?: [a-z][a-z-]*)+)")


def text() -> str:
    return DOC.read_text()


def resolve(words: list[str]) -> tuple[tuple[str, ...], click.Command | None]:
    """The command that ``gaib WORDS...`` runs, and the words naming it; None if the first word is no command."""
    command: click.Command = gaib
    path: list[str] = []
    for word in words:
        if not isinstance(command, click.Group) or word not in command.commands:
            break
        command = command.commands[word]
        path.append(word)
    return tuple(path), (command if path else None)


def mentions() -> Iterator[tuple[str, tuple[str, ...], click.Command | None]]:
    """Every `gaib WORDS` of the page: the words as written, the path they resolve to, the command."""
    for match in MENTION.finditer(text()):
        words = match.group(1).split()
        path, command = resolve(words)
        yield " ".join(words), path, command


def blocks(*kinds: str) -> Iterator[str]:
    for match in re.finditer(r"```(\w+)\n(.*?)```", text(), re.S):
        if match.group(1) in kinds:
            yield match.group(2)


def usage_lines() -> Iterator[tuple[tuple[str, ...], click.Command, str]]:
    """Each `gaib ...` line of the page's text and console blocks with the command it names and the rest of
    the line (its options); an indented line with no `gaib` continues the line above."""
    for block in blocks("text", "console"):
        last: tuple[tuple[str, ...], click.Command] | None = None
        for line in block.splitlines():
            if "gaib " not in line:
                if last is not None and line.startswith(" ") and "--" in line:
                    yield (*last, line)
                else:
                    last = None
                continue
            last = None
            for segment in re.split(r"(?=\bgaib [a-z])", line):
                if not segment.startswith("gaib "):
                    continue
                path, command = resolve(segment.split()[1:])
                if command is not None and not isinstance(command, click.Group):
                    last = (path, command)
                    yield path, command, segment


def table_options() -> Iterator[tuple[tuple[str, ...], click.Command, str]]:
    """The options in the first column of the tables under a heading `## gaib WORDS` that names one command."""
    for section in re.split(r"^## ", text(), flags=re.M)[1:]:
        heading, _, body = section.partition("\n")
        if not heading.startswith("gaib ") or "," in heading:
            continue
        path, command = resolve(heading.split()[1:])
        if command is None:
            continue
        for row in re.findall(r"^\| `(--[a-z-]+)", body, re.M):
            yield path, command, row


@dataclass(frozen=True)
class Shape:
    keys: frozenset[str]
    complete: bool  # False where the example elides lines with "..."


@cache
def documented_outputs() -> dict[str, Shape]:
    """The output each console example shows for a command run with it, by the command's words (`deploy`,
    `admin grant`): the top-level keys of its JSON object, or the keys of its `key value` lines."""
    shapes: dict[str, Shape] = {}
    for block in blocks("console"):
        for chunk in re.split(r"^\$ ", block, flags=re.M)[1:]:
            line, _, output = chunk.partition("\n")
            words = [w for w in shlex.split(line.split("&&")[0], comments=True) if "=" not in w or w.startswith("-")]
            if not words or words[0] != "gaib":
                continue
            path, command = resolve(words[1:])
            if command is None or not output.strip():
                continue
            if output.lstrip().startswith("{"):
                keys = re.findall(r'^  "(\w+)":', output, re.M)
            else:
                keys = re.findall(r"^([a-z_]+) {2,}\S", output, re.M)
            if len(keys) >= 2:
                shapes.setdefault(" ".join(path), Shape(frozenset(keys), "\n..." not in "\n" + output))
    return shapes
