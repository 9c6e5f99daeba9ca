"""The docs are checked like code: every ```python block of docs/*.md is a complete program that runs, and
every relative link between pages points at a page (and heading) that exists.

Snippets that are not runnable Python (shell commands, output, JSON, TOML) are fenced as ```console,
```text, ```json or ```toml; a fence without a language is refused, so nothing escapes these checks.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))  # docs/venues/*.md too

#: GAIB_HOME as it was when pytest started, whatever a fixture does to it later: the programs that use
#: the morpho venue need the Morpho Blue artifact that set-up built under it.
_GAIB_HOME = os.environ.get("GAIB_HOME")
_FENCE = re.compile(r"^(`{3,}|~{3,})(.*)$")
_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    lang: str
    code: str

    @property
    def id(self) -> str:
        return f"{self.page.name}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """The fenced code blocks of a page, with the line of their opening fence."""
    found: list[Block] = []
    lines = page.read_text().splitlines()
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if m is None:
            i += 1
            continue
        fence, lang, start = m.group(1), m.group(2).strip(), i + 1
        end = start
        while end < len(lines) and lines[end].strip() != fence:
            end += 1
        assert end < len(lines), f"{page.name}:{start}: the fence opened here is never closed"
        found.append(Block(page, start, lang, "\n".join(lines[start:end]) + "\n"))
        i = end + 1
    return found


def outside_code(page: Path) -> str:
    """A page's text with its fenced blocks and inline code removed: where links live."""
    text, lines, inside = [], page.read_text().splitlines(), None
    for line in lines:
        m = _FENCE.match(line)
        if inside is None and m is not None:
            inside = m.group(1)
        elif inside is not None and line.strip() == inside:
            inside = None
        elif inside is None:
            text.append(re.sub(r"`[^`]*`", "", line))
    return "\n".join(text)


def slug(heading: str) -> str:
    """A heading's anchor as mkdocs makes it (Python-Markdown's toc slugify, on the rendered text)."""
    text = re.sub(r"[^\w\s-]", "", heading.replace("`", "")).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def anchors(page: Path) -> set[str]:
    """The anchors of a page's headings."""
    return {slug(line.lstrip("#")) for line in outside_code(page).splitlines() if re.match(r"#{1,6} ", line)}


ALL_BLOCKS = [b for page in PAGES for b in blocks(page)]
PYTHON = [b for b in ALL_BLOCKS if b.lang == "python"]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GAIB_")}
    if _GAIB_HOME is not None:
        env["GAIB_HOME"] = _GAIB_HOME
    return env


def test_the_docs_are_there() -> None:
    names = {p.name for p in PAGES}
    assert {"index.md", "cloud-providers.md", "gpu-inventory.md", "plugin-authors.md"} <= names
    assert {"defi-integrators.md", "contracts.md", "cli.md"} <= names
    assert PYTHON, "no ```python block found: the docs' programs would go untested"


@pytest.mark.parametrize("block", ALL_BLOCKS, ids=lambda b: b.id)
def test_every_fence_names_its_language(block: Block) -> None:
    assert block.lang, f"{block.id}: say what the block is (```python, ```console, ```text, ```json, ```toml)"


def _run(block: Block, folder: Path) -> subprocess.CompletedProcess[str]:
    """Run a block as a program of its own, in an empty folder."""
    script = folder / "block.py"
    script.write_text(block.code)
    return subprocess.run(
        [sys.executable, str(script)], cwd=folder, env=_env(), capture_output=True, text=True, timeout=180
    )


@pytest.fixture(scope="module")
def runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Future[subprocess.CompletedProcess[str]]]]:
    """Start every selected block at once, one per CPU: each takes seconds, most of it the embedded EVM."""
    selected = [
        item.callspec.params["block"]
        for item in request.session.items
        if getattr(item, "originalname", None) == "test_python_block_runs" and hasattr(item, "callspec")
    ]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        yield {b.id: pool.submit(_run, b, tmp_path_factory.mktemp("block")) for b in selected}


@pytest.mark.parametrize("block", PYTHON, ids=lambda b: b.id)
def test_python_block_runs(block: Block, runs: dict[str, Future[subprocess.CompletedProcess[str]]]) -> None:
    proc = runs[block.id].result()
    assert proc.returncode == 0, f"{block.id} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    assert proc.stdout.strip(), f"{block.id} printed nothing: a docs program should show what it did"


@pytest.mark.parametrize("block", [b for b in ALL_BLOCKS if b.lang == "json"], ids=lambda b: b.id)
def test_json_block_parses(block: Block) -> None:
    data = json.loads(block.code)
    if block.page.name == "gpu-inventory.md" and isinstance(data, dict) and "gpus" in data:
        from gaib_gpu.adapter import GpuAdapter

        inventory = GpuAdapter().parse(data)
        assert inventory.kind == "gpu"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_point_at_existing_pages(page: Path) -> None:
    broken = []
    for target in _LINK.findall(outside_code(page)):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.is_file():
            broken.append(f"{target} (no such file)")
        elif DOCS.resolve() not in dest.parents:
            broken.append(f"{target} (outside docs/: mkdocs cannot link it)")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target} (no heading #{anchor} in {dest.name})")
    assert not broken, f"{page.name}: broken links: {broken}"
