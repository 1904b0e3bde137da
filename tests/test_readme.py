"""The README's curl walk-through is pasted by newcomers: it must run as written.

Convention (what a README editor needs to know):

* Only the fenced ```` ```sh ```` blocks under the heading "## A walk-through with curl"
  (up to the next "## " heading) are run, in order, in ONE bash process with
  ``set -euo pipefail``: a variable set in one block is there in the next, and any
  failing command (a non-zero exit anywhere in a pipeline) fails the test.
* The first block's line ``B=http://127.0.0.1:8000`` is pointed at a fresh server: a new
  SQLite file, ``bangkom migrate`` and ``bangkom seed-demo`` (``BANGKOM_DEMO_DATA=true``),
  then ``bangkom serve`` on a free port.
* A ```` ```text ```` block directly after a ``sh`` block (blank lines between at most) is
  what the ``sh`` block prints on stdout. It is compared with whitespace ignored (so the
  README may wrap long JSON), and ``...`` stands for any text (ids, times, tokens, fields
  left out). A ``sh`` block with no ``text`` block must only succeed.
* curl is called without ``-f``, so an error answer does not stop the script; show its
  status with ``-w '\\n%{http_code}\\n'`` and its body in the ``text`` block.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import TMP_ROOT, serve, stop

README = Path(__file__).resolve().parent.parent / "README.md"
SECTION = "## A walk-through with curl"
BASE_LINE = "B=http://127.0.0.1:8000"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
MARKER = "@@readme-block-{}@@"


@dataclass
class Block:
    script: str
    expected: str | None  # what it prints, or None when only success is checked
    line: int  # where it starts in README.md, for the failure message


def walkthrough_blocks(readme: str) -> list[Block]:
    start = readme.index(SECTION)
    following = readme.find("\n## ", start + len(SECTION))
    end = len(readme) if following == -1 else following
    blocks: list[Block] = []
    previous_end = None
    for fence in FENCE.finditer(readme, start, end):
        lang, body = fence.group(1), fence.group(2)
        if lang == "sh":
            line = readme.count("\n", 0, fence.start()) + 1
            blocks.append(Block(script=body, expected=None, line=line))
        elif lang == "text" and blocks and blocks[-1].expected is None:
            if readme[previous_end : fence.start()].strip() == "":
                blocks[-1].expected = body
        previous_end = fence.end()
    return blocks


def matches(expected: str, actual: str) -> bool:
    """Whitespace is not compared; ``...`` in ``expected`` stands for any text."""
    squeeze = re.compile(r"\s+")
    parts = squeeze.sub("", expected).split("...")
    pattern = ".*?".join(re.escape(part) for part in parts)
    return re.fullmatch(pattern, squeeze.sub("", actual), re.DOTALL) is not None


def test_the_convention_reads_blocks_and_matches_with_ellipsis() -> None:
    readme = (
        "# x\n```sh\nnot run\n```\n" + SECTION + "\n\n```sh\necho a\n```\n\n```text\na\n```\n"
        "prose\n```sh\necho b\n```\nprose\n```text\nnot an answer\n```\n## Next\n```sh\nno\n```\n"
    )
    blocks = walkthrough_blocks(readme)
    assert [(b.script, b.expected) for b in blocks] == [("echo a\n", "a\n"), ("echo b\n", None)]
    assert matches(
        '{"id":"crs_...","status":"draft",...}',
        '{"id": "crs_01x", "status": "draft", "version": 1}',
    )
    assert not matches('{"status":"draft",...}', '{"status":"published","id":"x"}')
    assert not matches("422", "4220")


@pytest.fixture
def demo_server() -> Iterator[str]:
    """`bangkom serve` on a free port over a new SQLite file with the demo data loaded."""
    folder = TMP_ROOT / "readme"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    env = {
        "BANGKOM_DATABASE_URL": f"sqlite:///{folder / 'demo.db'}",
        "BANGKOM_DEMO_DATA": "true",
        "BANGKOM_ENV": "development",
    }
    for command in (["migrate"], ["seed-demo"]):
        subprocess.run(
            [sys.executable, "-m", "app.cli", *command],
            env={**os.environ, **env},
            check=True,
            capture_output=True,
            timeout=120,
        )
    proc, base = serve(env)
    yield base
    stop(proc)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
def test_readme_walkthrough_runs_as_written(demo_server: str) -> None:
    for tool in ("bash", "curl", "python3"):
        if shutil.which(tool) is None:
            pytest.fail(f"the README walk-through needs {tool} on PATH")
    blocks = walkthrough_blocks(README.read_text(encoding="utf-8"))
    assert blocks, "the walk-through lost its shell blocks"
    assert blocks[0].script.startswith(BASE_LINE + "\n"), f"block 1 must start with {BASE_LINE}"
    blocks[0].script = f"B={demo_server}\n" + blocks[0].script[len(BASE_LINE) + 1 :]

    script = ["set -euo pipefail"]
    for i, block in enumerate(blocks):
        script += [f"printf '\\n%s\\n' '{MARKER.format(i)}'", block.script]
    run = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=TMP_ROOT,
    )
    outputs = re.split(r"\n@@readme-block-\d+@@\n", "\n" + run.stdout)[1:]
    if run.returncode != 0:
        failed = blocks[len(outputs) - 1]
        pytest.fail(
            f"README.md block at line {failed.line} failed (exit {run.returncode}):\n"
            f"{failed.script}\nstdout:\n{outputs[-1]}\nstderr:\n{run.stderr}"
        )
    assert len(outputs) == len(blocks)
    for block, output in zip(blocks, outputs, strict=True):
        if block.expected is not None and not matches(block.expected, output):
            pytest.fail(
                f"README.md block at line {block.line} printed something else.\n"
                f"--- shown in the README:\n{block.expected}\n--- printed:\n{output}\n"
                f"stderr:\n{run.stderr}"
            )
