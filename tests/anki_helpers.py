"""A real Anki collection for tests: import packages the way Anki desktop does and read back
what a user would see. No mocks: this is Anki's own Rust backend from the `anki` package."""

from __future__ import annotations

import sqlite3
import tempfile
import zipfile
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest
from anki.import_export_pb2 import IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_IF_NEWER as IF_NEWER


def import_package(col: Collection, package: Path) -> Any:
    """Import with Anki desktop's default options: update notes and notetypes if newer."""
    options = ImportAnkiPackageOptions(
        with_scheduling=False, with_deck_configs=False, merge_notetypes=False,
        update_notes=IF_NEWER, update_notetypes=IF_NEWER)
    log = col.import_anki_package(
        ImportAnkiPackageRequest(package_path=str(package), options=options)).log
    col.models._clear_cache()  # the desktop app drops its notetype cache after an import
    return log


def package_content(package: Path) -> dict[str, object]:
    """What a package holds, as Anki reads it: every row of every table of its collection, and
    the bytes of every other member. Two packages with equal content import the same, though
    their bytes may differ (an updated collection lays its pages out differently)."""
    content: dict[str, object] = {}
    with zipfile.ZipFile(package) as zf, tempfile.TemporaryDirectory() as work:
        for name in zf.namelist():
            if name != "collection.anki2":
                content[name] = zf.read(name)
        with closing(sqlite3.connect(zf.extract("collection.anki2", work))) as db:
            tables = [t for t, in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            for table in sorted(tables):
                content[table] = sorted(db.execute(f"SELECT * FROM {table}"), key=repr)
            content["schema"] = sorted(db.execute("SELECT type, name, sql FROM sqlite_master"))
    return content


@dataclass(frozen=True)
class SeenNote:
    id: int
    guid: str
    notetype: str
    deck: str
    fields: dict[str, str]
    tags: tuple[str, ...]
    mod: int

    @property
    def question(self) -> str:
        return next(iter(self.fields.values()))

    @property
    def text(self) -> str:
        return "\n".join(self.fields.values())


class AnkiCollection:
    """A fresh collection in a folder; `import_package` uses Anki desktop's default options."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.col = Collection(str(folder / "collection.anki2"))

    def close(self) -> None:
        self.col.close()

    def import_package(self, package: Path) -> Any:
        return import_package(self.col, package)

    def notes(self) -> list[SeenNote]:
        seen = []
        for nid in self.col.find_notes(""):
            note = self.col.get_note(nid)
            card = note.cards()[0]
            seen.append(SeenNote(
                id=nid, guid=note.guid, notetype=note.note_type()["name"],
                deck=self.col.decks.name(card.did), fields=dict(note.items()),
                tags=tuple(sorted(note.tags)), mod=note.mod))
        return sorted(seen, key=lambda n: n.guid)

    def by_guid(self) -> dict[str, SeenNote]:
        return {n.guid: n for n in self.notes()}

    def card_sides(self) -> list[tuple[str, str]]:
        """(question, answer) HTML of every card, as the reviewer renders it."""
        sides = []
        for cid in self.col.find_cards(""):
            card = self.col.get_card(cid)
            sides.append((card.question(), card.answer()))
        return sides

    def media_names(self) -> set[str]:
        return {p.name for p in Path(self.col.media.dir()).iterdir()}

    def answer_every_card(self) -> None:
        """Study every new card once with Easy: one review each in the revlog, and a real
        interval and due date that a lost review history would change."""
        for did in [d.id for d in self.col.decks.all_names_and_ids()]:
            self.col.decks.select(did)
            while (queued := self.col.sched.get_queued_cards(fetch_limit=1)).cards:
                card = self.col.get_card(queued.cards[0].card.id)
                card.start_timer()
                self.col.sched.answerCard(card, 4)

    def review_state(self) -> dict[int, tuple[int, int, int, int]]:
        """card id → (revlog rows, interval, due, type): what a lost review would change."""
        rows = self.col.db.all(
            "select c.id, (select count() from revlog r where r.cid = c.id), c.ivl, c.due, c.type "
            "from cards c")
        return {r[0]: (r[1], r[2], r[3], r[4]) for r in rows}
