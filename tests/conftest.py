from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from anki.collection import Collection
from click.testing import CliRunner, Result
from hypothesis import settings

from anki_export.cli import cli

from .anki_helpers import AnkiCollection

# Generated tests draw the same examples on every run, so the suite (and CI) passes or fails
# for the code alone; `pytest --hypothesis-profile=explore` draws new ones, to look for bugs.
settings.register_profile("repeatable", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile("repeatable")

EXAMPLE = Path(__file__).resolve().parents[2] / "shared" / "examples" / (
    "Plasma cell proliferative disorders.md")


SETTLED = 1_600_000_000  # a modification time long past


def write_vault(root: Path, files: dict[str, str]) -> Path:
    """Write notes given as {relative path: text}; text is dedented. They get a modification
    time long past, as a user's notes have: a file modified within seconds of a build is read
    again by the next, however unchanged it looks (`vault.FileStats.settled`)."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        os.utime(path, (SETTLED, SETTLED))
    return root


def published(permalink: str, body: str, **extra: str) -> str:
    """A note in the Digital Garden's published form: one line of JSON frontmatter."""
    keys = "".join(f',"{k.replace("_", "-")}":"{v}"' for k, v in extra.items())
    return f'---\n{{"dg-publish":true,"permalink":"{permalink}"{keys}}}\n---\n' + (
        textwrap.dedent(body).lstrip("\n"))


@pytest.fixture
def run_cli() -> Callable[..., Result]:
    def run(*args: str | Path) -> Result:
        return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    return run


@pytest.fixture
def col(tmp_path: Path) -> Iterator[Collection]:
    """A fresh, empty collection of real Anki, for tests at the package level."""
    folder = tmp_path / "anki"
    folder.mkdir()
    collection = Collection(str(folder / "collection.anki2"))
    yield collection
    collection.close()


@pytest.fixture
def anki(tmp_path: Path) -> Iterator[AnkiCollection]:
    col = AnkiCollection(tmp_path / "anki")
    yield col
    col.close()


@pytest.fixture
def new_anki(tmp_path: Path) -> Iterator[Callable[[], AnkiCollection]]:
    made: list[AnkiCollection] = []

    def make() -> AnkiCollection:
        made.append(AnkiCollection(tmp_path / f"anki{len(made)}"))
        return made[-1]
    yield make
    for col in made:
        col.close()
