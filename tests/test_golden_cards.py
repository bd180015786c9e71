"""Golden cards: real-shaped notes through the whole pipeline, as Anki shows them.

Regenerate every golden file after an intended change with one command, then review the diff
like code (each changed line is one field of one card, or one warning):

    UPDATE_GOLDEN=1 python -m pytest tests/test_golden_cards.py

`tests/fixtures/cards/` is a small vault (its `*.md` notes and `attachments/`) holding every
construct real gardens use, in both forms of a Digital Garden note: the vault form (YAML
frontmatter, ` ^id`, `![[image|300]]`, `%%comments%%`) and the published form the plugin
commits (one line of JSON frontmatter, `{ #id}` lines, `/img/user/` images, `[[path\\|alias]]`,
note embeds already inlined as HTML). It is built once with the CLI (a fixed
`SOURCE_DATE_EPOCH` and site URL) and imported once into a fresh real Anki collection; each
note's cards are then compared with `<name>.result.json`: for every Anki note its GUID and
identity key, notetype, deck, tags and every field's HTML (for a cloze note also its card ords
and the cloze numbers the build manifest remembers), and the build's warnings for the file.
They pin what must not move when the renderer changes: card HTML, GUIDs, cloze numbers.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from anki_export.cli import cli
from anki_export.manifest import read_manifest

from .anki_helpers import AnkiCollection

FIXTURES = Path(__file__).parent / "fixtures" / "cards"
UPDATE = bool(os.environ.get("UPDATE_GOLDEN"))
NAMES = sorted(path.stem for path in FIXTURES.glob("*.md"))
SOURCE_DATE_EPOCH = "1700000000"
SITE_URL = "https://garden.example.org"


@dataclass(frozen=True)
class Built:
    """One build of the fixture vault, as Anki imported it: the golden content of each note
    file, and the media files the collection received."""

    by_source: dict[str, dict[str, Any]]
    media: set[str]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    work = tmp_path_factory.mktemp("golden")
    vault = work / "garden"
    shutil.copytree(FIXTURES, vault, ignore=shutil.ignore_patterns("*.result.json"))
    out, report = work / "dist", work / "report.json"
    result = CliRunner().invoke(
        cli, ["build", str(vault), "-o", str(out), "--site-url", SITE_URL,
              "--report", str(report)],
        env={"SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    manifest = read_manifest(out / "anki-export.lock").notes
    by_source: dict[str, dict[str, Any]] = {f"{name}.md": {"notes": [], "warnings": []}
                                             for name in NAMES}
    for found in json.loads(report.read_text(encoding="utf-8"))["diagnostics"]:
        by_source[found["path"]]["warnings"].append(
            f"{found['line']}: {found['level']}: {found['code']}: {found['message']}")
    anki = AnkiCollection(work / "anki")
    try:
        anki.import_package(out / "garden.apkg")
        for seen in anki.notes():
            entry = manifest[seen.guid]
            note: dict[str, Any] = {
                "guid": seen.guid, "key": entry.key, "notetype": seen.notetype,
                "deck": seen.deck, "tags": list(seen.tags), "fields": seen.fields}
            if seen.notetype == "anki-export cloze":
                cards = anki.col.get_note(seen.id).cards()
                note["card_ords"] = sorted(card.ord for card in cards)
                note["clozes"] = [list(pair) for pair in entry.clozes]
            by_source[entry.source]["notes"].append(note)
        media = anki.media_names()
    finally:
        anki.close()
    for golden in by_source.values():
        golden["notes"].sort(key=lambda note: note["key"])
    return Built(by_source, media)


def as_json(golden: dict[str, Any]) -> str:
    """Readable, diffable JSON: one field (or tag, or warning) per line, keys sorted."""
    return json.dumps(golden, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("name", NAMES)
def test_cards_match_their_golden_file(built: Built, name: str) -> None:
    actual = as_json(built.by_source[f"{name}.md"])
    path = FIXTURES / f"{name}.result.json"
    if UPDATE and (not path.exists() or path.read_text(encoding="utf-8") != actual):
        path.write_text(actual, encoding="utf-8")
        return
    assert path.exists(), f"no {path.name}: run UPDATE_GOLDEN=1 on this test, review it"
    assert actual == path.read_text(encoding="utf-8")


def test_every_golden_file_has_its_note() -> None:
    results = {path.name.removesuffix(".result.json")
               for path in FIXTURES.glob("*.result.json")}
    assert results == set(NAMES)


def test_every_image_on_a_card_is_in_the_collection(built: Built) -> None:
    sources = {src for golden in built.by_source.values() for note in golden["notes"]
               for field in note["fields"].values()
               for src in re.findall(r'<img[^>]* src="([^"]+)"', field)}
    assert sources and sources <= built.media
