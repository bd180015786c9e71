"""Incremental builds against cold ones over random edit sequences on a copy of the sample
vault: after every step, the package a build with the last build's cache and collection
writes holds exactly the rows that a build without them writes from the same manifest.

`DIFFERENTIAL_STEPS=1000 pytest tests/test_differential.py --hypothesis-profile=explore`
runs it long (about that many steps, drawn afresh)."""

from __future__ import annotations

import os
import random
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner, Result
from hypothesis import example, given, settings
from hypothesis import strategies as st

from anki_export.cli import cli

from .anki_helpers import package_content
from .conftest import SETTLED, published

SAMPLE = Path(__file__).resolve().parents[1] / "notes"
STEPS = int(os.environ.get("DIFFERENTIAL_STEPS", "24"))  # in all, over every example


def notes_of(vault: Path) -> list[Path]:
    return sorted(p for p in vault.rglob("*.md") if ".obsidian" not in p.parts)


def made_here(vault: Path) -> list[Path]:
    """The notes that earlier steps made: edits go to them half the time, so that steps
    meet (a note embedded, then edited)."""
    return [p for p in notes_of(vault) if p.name.startswith(("New ", "Clip ", "Renamed "))]


def edit_section(vault: Path, rng: random.Random, n: int) -> list[Path]:
    note = rng.choice(made_here(vault) if made_here(vault) and rng.random() < 0.5
                      else notes_of(vault))
    lines = note.read_text(encoding="utf-8").split("\n")
    headings = [i for i, line in enumerate(lines) if line.startswith("## ")]
    at = rng.choice(headings) + 1 if headings else len(lines)
    lines.insert(at, f"edit {n}, with [[{rng.choice(notes_of(vault)).stem}]]")
    note.write_text("\n".join(lines), encoding="utf-8")
    return [note]


def add_section(vault: Path, rng: random.Random, n: int) -> list[Path]:
    note = rng.choice(notes_of(vault))
    note.write_text(note.read_text(encoding="utf-8") + f"\n## Extra {n}\nmore {n}\n",
                    encoding="utf-8")
    return [note]


def add_note(vault: Path, rng: random.Random, n: int) -> list[Path]:
    other = rng.choice(notes_of(vault)).stem
    note = vault / rng.choice(["", "Rad/"]) / f"New {n}.md"
    note.parent.mkdir(parents=True, exist_ok=True)
    note.write_text(published(f"/new-{n}/", f"## Q {n}\nsee [[{other}]]\n"), encoding="utf-8")
    return [note]


def remove_note(vault: Path, rng: random.Random, n: int) -> list[Path]:
    notes = notes_of(vault)
    if len(notes) > 3:
        rng.choice(notes).unlink()
    return []


def rename_note(vault: Path, rng: random.Random, n: int) -> list[Path]:
    note = rng.choice(notes_of(vault))
    return [note.rename(note.with_name(f"Renamed {n}.md"))]


def embed_note(vault: Path, rng: random.Random, n: int) -> list[Path]:
    note, other = rng.choice(notes_of(vault)), rng.choice(notes_of(vault))
    note.write_text(note.read_text(encoding="utf-8") + f"\n## Embeds {n}\n![[{other.stem}]]\n",
                    encoding="utf-8")
    return [note]


def embed_note_named_like_audio(vault: Path, rng: random.Random, n: int) -> list[Path]:
    clip = vault / f"Clip {n}.mp3.md"
    clip.write_text(published(f"/clip-{n}/", f"## Part\nclip text {n}\n"), encoding="utf-8")
    note = rng.choice(notes_of(vault))
    note.write_text(note.read_text(encoding="utf-8") + f"\n## Clip {n}\n![[Clip {n}.mp3]]\n",
                    encoding="utf-8")
    return [clip, note]


def change_image(vault: Path, rng: random.Random, n: int) -> list[Path]:
    images = sorted((vault / "attachments").glob("*.png"))
    image = rng.choice(images) if images and rng.random() < 0.7 else (
        vault / "attachments" / f"new-{n}.png")
    image.write_bytes((image.read_bytes() if image.exists() else b"\x89PNG\r\n")
                      + n.to_bytes(4, "big"))
    if image.name.startswith("new-"):
        note = rng.choice(notes_of(vault))
        note.write_text(note.read_text(encoding="utf-8") + f"\n## Image {n}\n![[{image.name}]]\n",
                        encoding="utf-8")
        return [image, note]
    return [image]


EDITS: dict[str, Callable[[Path, random.Random, int], list[Path]]] = {
    f.__name__: f for f in (edit_section, add_section, add_note, remove_note, rename_note,
                            embed_note, embed_note_named_like_audio, change_image)}


def build(vault: Path, out: Path, at: int) -> Result:
    return CliRunner().invoke(cli, ["build", str(vault), "-o", str(out), "-q"],
                              env={"SOURCE_DATE_EPOCH": str(at)}, catch_exceptions=False)


@settings(max_examples=max(1, STEPS // 8), deadline=None)
@example([("add_note", 0), ("add_note", 0), ("embed_note_named_like_audio", 0),
          ("edit_section", 1)])  # found by it: the note `Clip 3.mp3.md`, embedded, edited
@given(st.lists(st.tuples(st.sampled_from(sorted(EDITS)), st.integers(0, 2**32)),
                min_size=4, max_size=12))
def test_incremental_builds_hold_what_cold_builds_hold(steps: list[tuple[str, int]]) -> None:
    with tempfile.TemporaryDirectory() as work:
        vault, out = Path(work) / "v", Path(work) / "incremental"
        shutil.copytree(SAMPLE, vault)
        build(vault, out, 1_700_000_000)
        for n, (edit, seed) in enumerate(steps, 1):
            for changed in EDITS[edit](vault, random.Random(seed), n):
                os.utime(changed, (SETTLED + n, SETTLED + n))  # an edit's own time
            cold = Path(work) / f"cold{n}"
            cold.mkdir()
            shutil.copy(out / "anki-export.lock", cold)  # the same last manifest
            at = 1_700_000_000 + 100 * n
            incremental, fresh = build(vault, out, at), build(vault, cold, at)
            assert incremental.exit_code == fresh.exit_code, (edit, incremental.output)
            if fresh.exit_code == 0:
                assert package_content(out / "v.apkg") == package_content(cold / "v.apkg"), (
                    f"step {n}: {edit}")
            shutil.rmtree(cold)
