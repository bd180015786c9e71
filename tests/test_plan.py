"""What a rebuild reuses is planned in one place, from one key of every setting that can
change a card; `build --explain` says what and why, `build --no-cache` reads nothing back."""

from __future__ import annotations

import os
import shutil
from dataclasses import fields, replace
from pathlib import Path

from click.testing import CliRunner, Result

from anki_export.config import Config
from anki_export.plan import SETTINGS, Effect, card_key

from .conftest import SETTLED, published, write_vault

EPOCH = {"SOURCE_DATE_EPOCH": "1700000000"}


def build(vault: Path, out: Path, *extra: str) -> Result:
    from anki_export.cli import cli

    result = CliRunner().invoke(cli, ["build", str(vault), "-o", str(out), "-q", *extra],
                                env=EPOCH, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def edit(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    os.utime(path, (SETTLED + 60, SETTLED + 60))  # settled: its time stamp tells


def vault_in(tmp_path: Path) -> Path:
    return write_vault(tmp_path / "v", {
        "Bone/Lesion.md": published("/lesion/", "## Signs\nSee ![[Marrow#Cells]]\n"),
        "Bone/Marrow.md": published("/marrow/", "## Cells\nplasma cells\n## Fat\nyellow\n"),
        "Bone/Other.md": published("/other/", "## Q\nan answer\n"),
    })


def test_every_setting_says_whether_it_can_change_a_card() -> None:
    """A new Config field must be classified: one that can change a card but is not in the
    render cache's key would ship stale cards, and nothing else would notice."""
    assert {f.name for f in fields(Config)} == set(SETTINGS)
    assert SETTINGS["tags"] is Effect.CARDS and SETTINGS["output"] is Effect.NO_CARD
    config = Config()
    assert card_key(replace(config, tags=("x",))) != card_key(config)
    assert card_key(replace(config, output=Path("elsewhere"), strict=True)) == card_key(config)


def test_explain_names_the_edited_note_and_says_why(tmp_path: Path) -> None:
    vault, out = vault_in(tmp_path), tmp_path / "out"
    first = build(vault, out, "--explain").output
    assert "Plan: full build — no earlier build" in first
    same = build(vault, out, "--explain").output
    assert "Plan: up to date — nothing changed since the last build (3 notes, 4 cards)" in same

    edit(vault / "Bone/Other.md", published("/other/", "## Q\nanother answer\n"))
    edited = build(vault, out, "--explain").output
    assert "Plan: update in place — only 2 notes changed" in edited
    assert "text changed: Bone/Other.md" in edited and "1 kept" in edited
    assert "it embeds notes, and a note changed: Bone/Lesion.md" in edited  # it may show it

    reworded = build(vault, out, "--explain", "--question-format", "Q: {heading}").output
    assert "Plan: full build — the setting question-format changed" in reworded
    assert "3 notes render, 0 from the render cache" in reworded

    (vault / "Bone/Other.md").unlink()
    removed = build(vault, out, "--explain", "--question-format", "Q: {heading}").output
    assert "Plan: full build — " in removed and "removed: Bone/Other.md" in removed
    assert "it embeds notes, and a note changed: Bone/Lesion.md" in removed
    assert "1 note renders, 1 from the render cache" in removed


def test_no_cache_writes_what_a_cold_build_writes(tmp_path: Path) -> None:
    """With the last build's manifest, `--no-cache` gives the bytes a first build into an
    empty folder gives: it reads nothing of the cache or of the collection kept there."""
    vault, out = vault_in(tmp_path), tmp_path / "out"
    build(vault, out)
    edit(vault / "Bone/Other.md", published("/other/", "## Q\nanother answer\n"))
    build(vault, out)  # an update in place: the kept collection now differs from a fresh one
    edit(vault / "Bone/Marrow.md", published("/marrow/", "## Cells\nmast cells\n## Fat\nyes\n"))
    cold = tmp_path / "cold"
    cold.mkdir()
    shutil.copy(out / "anki-export.lock", cold / "anki-export.lock")
    said = build(vault, out, "--no-cache", "--explain").output
    assert "Plan: full build — --no-cache" in said
    build(vault, cold)
    assert (out / "v.apkg").read_bytes() == (cold / "v.apkg").read_bytes()
    assert ((out / "anki-export.lock").read_bytes()
            == (cold / "anki-export.lock").read_bytes())
    assert "Plan: up to date" in build(vault, out, "--explain").output  # the cache is anew
