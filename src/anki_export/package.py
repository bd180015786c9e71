"""Write Anki ``.apkg`` packages (the output edge of the pipeline), in the legacy form genanki
writes: a zip of a schema-11 ``collection.anki2``, a ``media`` map and media files ``0``, ``1``…

Users re-import our packages again and again, so what counts is what Anki's importer keys on
(pinned by ``tests/test_anki_importer_facts.py``): notes match by ``guid`` and update only if
our ``mod`` is newer; notetypes match by ``id`` and update only if their ``mod`` (``revision``)
is newer and their fields/templates still match (by the ids we give them); decks match by name.
Output is reproducible and replaces ``path`` atomically, which ``genanki.Package`` is not (and
it is quadratic in the number of decks)."""

from __future__ import annotations

import functools
import hashlib
import html
import json
import re
import shutil
import sqlite3
import tempfile
from collections.abc import Iterable, Mapping
from contextlib import closing
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from .archive import write_zip
from .buildlock import WORK_PREFIX

__all__ = ["CardTemplate", "NoteType", "PackageNote", "write_package"]


@dataclass(frozen=True, slots=True)
class CardTemplate:
    """One card type of a notetype: front and back templates."""

    name: str
    front: str  # qfmt
    back: str  # afmt


@dataclass(frozen=True, slots=True)
class NoteType:
    """Field/template identity is their *position* (their Anki ids come from ``(id, i)``):
    renaming one is safe, but adding, removing or reordering fields/templates of a released
    notetype makes Anki fork it ("Name+") and stop updating the notes already imported."""

    id: int  # stable, chosen by the caller
    name: str
    fields: tuple[str, ...]
    templates: tuple[CardTemplate, ...]
    css: str
    is_cloze: bool = False
    revision: int = 0  # seconds; the notetype's `mod`: bump it when templates/css/names change


@dataclass(frozen=True, slots=True)
class Review:
    """A card's review state (from the Spaced Repetition plugin), written into its card row as
    a review card's: Anki's importer keeps it only with "Import any learning progress", and
    only for cards the collection does not have yet (it never changes an existing card's
    scheduling), else the card arrives new."""

    due: date
    interval: int  # days
    factor: int  # ease in permille, Anki's unit: the plugin's 250 is 2500
    reps: int = 0
    lapses: int = 0
    memory: str = ""  # FSRS stability and difficulty, as Anki keeps them in a card's `data`


@dataclass(frozen=True, slots=True)
class PackageNote:
    """One Anki note as the package stores it: fields already rendered."""

    guid: str
    notetype: NoteType
    deck: str  # full name, "Rad::MSK::Bone"
    fields: tuple[str, ...]  # HTML, same order as notetype.fields
    tags: tuple[str, ...]
    mod: int  # seconds; must grow whenever fields/tags change, or Anki ignores the update
    reviews: tuple[Review | None, ...] = ()  # by card, in ord order: review state to carry


_MAX_ID = 1 << 53  # every id stays exact in JavaScript (Anki's UI) and JSON
# Anki rewrites note/card ids above "now + 1 day" (ms) to import-time ids, in id order.  Ours
# are all >= 2**52 (year 144,000), so imported notes always get a real creation time, in the
# order of the notes.  Blocks of 1000 per note keep card ids (note id + ord, ord <= 499) unique
# and siblings adjacent.  Ids follow the input order: SQLite appends the rows instead of
# inserting them all over its B-trees (hashed ids made the inserts 5x slower).
_CREATED = date(2000, 1, 1)
"""The collection's creation day (`crt`, at 00:00 UTC): a review card's `due` counts days from
it. Anki's importer moves a review card's `due` by the days between the package's "today"
(counted from `crt`) and the collection's, so it keeps its date; a fixed day keeps packages
reproducible and every due date of the plugin after it."""
_ID_BASE = 1 << 52
_BLOCK = 1000
_MAX_CLOZE_ORD = 499  # Anki's own clamp for {{cN::}}
_CLOZE = re.compile(r"\{\{c([\d,]+)::")
_MEDIA_TAG = re.compile(
    r"""(?si)<\b(?:img|audio|video|object|source)\b(?:[^>]|"[^"]+?"|'[^']+?')+?"""
    r"""\b(?:src|data)\b=(?:"([^"]+?)"[^>]*>|'([^']+?)'[^>]*>|([^ >]+?)[^>]*>)""")
_HTML = re.compile(r"(?si)(<!--.*?-->)|(<style.*?>.*?</style>)|(<script.*?>.*?</script>)|(<.*?>)")
_SPACE = re.compile(r"\s")


def _hash_int(*parts: object) -> int:
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _sub_id(*parts: object) -> int:
    """A stable positive id below 2**53, for fields and templates."""
    return 1 + _hash_int(*parts) % (_MAX_ID - 1)


def _strip_html(text: str) -> str:
    """Anki's strip_html_preserving_media_filenames, for `sfld` and `csum`."""
    if "<" not in text and "&" not in text:  # most questions: nothing to strip
        return text.replace("\xa0", " ")
    text = _MEDIA_TAG.sub(lambda m: f" {m.group(1) or m.group(2) or m.group(3)} ", text)
    return html.unescape(_HTML.sub("", text)).replace("\xa0", " ")


def card_ords(notetype: NoteType, fields: Iterable[str]) -> list[int]:
    """Anki's card generation, which its importer does not redo: one card per template; for
    cloze, one per distinct N in ``{{cN::``/``{{cN,M::`` in any field, ord N-1 (0..499)."""
    if not notetype.is_cloze:
        return list(range(len(notetype.templates)))
    return sorted({min(max(int(num) - 1, 0), _MAX_CLOZE_ORD) for field in fields
                   for match in _CLOZE.finditer(field) for num in match.group(1).split(",")
                   if num and int(num) <= 0xFFFF})


def _card_ords(note: PackageNote) -> list[int]:
    ords = card_ords(note.notetype, note.fields)
    if not ords:
        raise ValueError(f"cloze note {note.guid!r} has no {{{{c1::...}}}} deletion")
    return ords


def _card_row(nid: int, did: int, ord_: int, note: PackageNote, position: int
              ) -> tuple[Any, ...]:
    """A card's row: new, due in the input order; a review card where the note carries a
    review state for it (`Review`)."""
    review = note.reviews[ord_] if ord_ < len(note.reviews) else None
    if review is None:
        return (nid + ord_, nid, did, ord_, note.mod, -1, 0, 0, position, 0, 0, 0, 0, 0, 0, 0,
                0, "")
    return (nid + ord_, nid, did, ord_, note.mod, -1, 2, 2, (review.due - _CREATED).days,
            review.interval, review.factor, review.reps, review.lapses, 0, 0, 0, 0,
            review.memory)


def _note_columns(note: PackageNote) -> tuple[str, str, int, str]:
    """The note's `flds`, `sfld`, `csum` and `tags` columns, once they are checked."""
    fields = "\x1f".join(note.fields)
    if (len(note.fields) != len(note.notetype.fields)
            or fields.count("\x1f") != len(note.fields) - 1):
        raise ValueError(f"note {note.guid!r}: fields do not fit notetype {note.notetype.name!r}")
    if note.tags and (not all(note.tags) or _SPACE.search("".join(note.tags))):
        raise ValueError(f"note {note.guid!r}: tags must be non-empty, without spaces")
    first = _strip_html(note.fields[0])
    csum = int.from_bytes(hashlib.sha1(first.encode()).digest()[:4], "big")
    return fields, first, csum, f" {' '.join(note.tags)} " if note.tags else ""


def deck_names(name: str) -> list[str]:
    """``A::B::C`` and all its ancestors: written explicitly, not left to Anki."""
    parts = name.split("::")
    if any(not p or p != p.strip() for p in parts):
        raise ValueError(f"invalid deck name {name!r}")
    return ["::".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _model_json(nt: NoteType) -> dict[str, Any]:
    """genanki's Model JSON shape plus stable field/template ids.  ``req`` stays empty: Anki
    recomputes it, and genanki's chevron-based guess is wrong for filters like ``{{hint:X}}``."""
    if nt.is_cloze and len(nt.templates) != 1:
        raise ValueError(f"cloze notetype {nt.name!r} needs exactly one template")
    if not nt.fields or not nt.templates:
        raise ValueError(f"notetype {nt.name!r} needs fields and templates")
    flds = [{"name": name, "ord": i, "id": _sub_id("field", nt.id, i), "media": [],
             "font": "Liberation Sans", "rtl": False, "size": 20, "sticky": False}
            for i, name in enumerate(nt.fields)]
    tmpls = [{"name": t.name, "ord": i, "id": _sub_id("template", nt.id, i), "qfmt": t.front,
              "afmt": t.back, "bafmt": "", "bqfmt": "", "bfont": "", "bsize": 0, "did": None}
             for i, t in enumerate(nt.templates)]
    return {"css": nt.css, "did": 1, "flds": flds, "id": str(nt.id), "latexsvg": False,
            "latexPost": _LATEX_POST, "latexPre": _LATEX_PRE,
            "mod": nt.revision, "name": nt.name, "req": [], "sortf": 0, "tags": [],
            "tmpls": tmpls, "type": 1 if nt.is_cloze else 0,
            "usn": -1, "vers": []}


_LATEX_PRE = ("\\documentclass[12pt]{article}\n\\special{papersize=3in,5in}\n"
              "\\usepackage[utf8]{inputenc}\n\\usepackage{amssymb,amsmath}\n\\pagestyle{empty}\n"
              "\\setlength{\\parindent}{0in}\n\\begin{document}\n")
_LATEX_POST = "\\end{document}"
"""Anki's default LaTeX header and footer, as genanki's `Model` writes them (`tests/
test_package.py` compares): taken from genanki's class, they cost its import (below)."""


@functools.cache
def _genanki_data(module: str) -> Any:
    """One of genanki's data modules (the schema, the col row: plain strings), loaded from its
    folder without importing the package, whose `__init__` pulls in asyncio, yaml and chevron,
    none of which a build uses: keep genanki's package unimported at run time."""
    import importlib
    import importlib.util

    found = importlib.util.find_spec("genanki")  # finds the package, does not import it
    folders = found.submodule_search_locations if found is not None else None
    path = Path(folders[0]) / f"{module}.py" if folders else None
    spec = (importlib.util.spec_from_file_location(f"genanki.{module}", path)
            if path is not None and path.is_file() else None)
    if spec is None or spec.loader is None:  # an install without sources: import it after all
        return importlib.import_module(f"genanki.{module}")
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


_ColDefaults = tuple[str, dict[str, Any], str]  # conf, the Default deck, deck options


@functools.cache
def _genanki_col() -> _ColDefaults:
    """genanki's col row: conf, the Default deck (every deck's other keys) and options."""
    with closing(sqlite3.connect(":memory:")) as db:
        db.executescript(_genanki_data("apkg_schema").APKG_SCHEMA
                         + _genanki_data("apkg_col").APKG_COL)
        col = db.execute("SELECT conf, decks, dconf FROM col").fetchone()
    # A new day at midnight: Anki's importer counts the package's "today" with it, to move a
    # review card's `due` (days from `crt`) onto the collection's days; so its due date is
    # the one the notes give, as Anki's browser shows dates (see `_CREATED`).
    return _dumps({**json.loads(col[0]), "rollover": 0}), json.loads(col[1])["1"], col[2]


def _dumps(obj: object) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@functools.cache
def _schema() -> tuple[str, list[str]]:
    """genanki's collection schema: the tables (one script), then the indexes, which a writer
    builds once after the rows."""
    statements = [s.strip() for s in _genanki_data("apkg_schema").APKG_SCHEMA.split(";")
                  if s.strip()]
    tables = ";\n".join(s for s in statements if not s.upper().startswith("CREATE INDEX"))
    return tables + ";", [s for s in statements if s.upper().startswith("CREATE INDEX")]


def _free_id(key: str, salt: str, low: int, span: int, taken: set[int]) -> int:
    """Hash `key` into ``low .. low+span-1``; a clash (astronomically unlikely) takes the next
    free value. Keys arrive in a deterministic order, so the result is deterministic too."""
    offset = _hash_int(salt, key) % span
    while low + offset in taken:
        offset = (offset + 1) % span
    taken.add(low + offset)
    return low + offset


class PackageWriter:
    """Streams notes into a package: rows go to SQLite in batches as they arrive, so memory
    stays flat however large the vault; decks and notetypes are written once, at the end
    (genanki rewrites the whole decks JSON for every deck, which is quadratic)."""

    _BATCH = 2000

    def __init__(self, path: Path, *, timestamp: int | None = None, keep: Path | None = None,
                 base: Path | None = None,
                 work_in: Path | None = None) -> None:
        """`timestamp` stands in for "now" everywhere; by default the newest note's `mod` (or
        notetype revision), so the same notes always give the same bytes. The finished
        collection is left at `keep`; `base` is one left so by an earlier build, to `update`
        in place (its notes, decks and notetypes stay; see `update`): it is changed where it
        is, in one transaction, and stays there (`collection`). `written` is the package's
        size and mtime once written. The
        collection is written in a folder of its own in `work_in` (else the temporary
        folder), named so that the next build can remove it if this one is killed
        (buildlock.py)."""
        if timestamp is not None and timestamp < 0:
            raise ValueError("timestamp must be >= 0")
        if base is not None and keep is not None:
            raise ValueError("a base collection is updated where it is: nothing to keep")
        self.path = Path(path)
        self._timestamp = timestamp
        self.keep, self._base = keep, base
        self.written: tuple[int, int] | None = None
        self._committed = False
        self._newest = 0
        self._work = tempfile.TemporaryDirectory(dir=work_in, prefix=WORK_PREFIX)
        self._db_path = base if base is not None else Path(self._work.name) / "collection.anki2"
        self._db = sqlite3.connect(self._db_path, isolation_level=None)
        self._notetypes: dict[int, NoteType] = {}
        self._models_json = ""  # a base's notetypes, as it holds them
        self._col_defaults: _ColDefaults | None = None  # a base's, else genanki's
        self._decks: dict[str, tuple[int, str]] = {"default": (1, "Default")}  # by casefold
        self._deck_ids: set[int] = {1}
        self._guids: set[str] = set()
        self._media: dict[str, Path] = {}
        self._note_rows: list[tuple[Any, ...]] = []
        self._card_rows: list[tuple[Any, ...]] = []
        self._position = 0  # `due` of new cards = input order, so they are studied in order
        try:
            if base is None:
                self._db.executescript("PRAGMA page_size = 4096; PRAGMA journal_mode = OFF;"
                                       + _schema()[0])
            else:
                self._open_base()  # fails on a damaged base
            self._db.execute("BEGIN")
        except BaseException:
            self.abort()
            raise

    def _open_base(self) -> None:
        """With the rollback journal: a build that fails before the commit leaves the base's
        rows as they were (its modification time may have moved, which only makes the next
        build a full one: `layout.KeptPackage`); one that fails after it, its package not
        written, removes the base (`abort`). Copying the base instead took longer than the
        update (20,000 notes: 150 MB copied, then flushed to disk as the copy committed)."""
        self._db.execute("PRAGMA journal_mode = DELETE")
        mod, self._models_json, decks, conf, dconf = self._db.execute(
            "SELECT mod, models, decks, conf, dconf FROM col").fetchone()
        self._newest = mod // 1000
        decks = json.loads(decks)
        self._decks = {d["name"].casefold(): (d["id"], d["name"]) for d in decks.values()}
        self._col_defaults = (conf, decks["1"], dconf)  # as genanki's: no import of it

    def __enter__(self) -> PackageWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()

    def add(self, note: PackageNote, media: Mapping[str, Path] | None = None) -> int:
        """Add one note, and the media files (name in package → file) its fields show.
        Returns its note id, by which a later build's `update` finds it in this collection."""
        if self._base is not None:
            raise ValueError("a writer that updates a base collection adds no notes")
        nt = self._notetypes.setdefault(note.notetype.id, note.notetype)
        if nt is not note.notetype and nt != note.notetype:
            raise ValueError(f"two different notetypes share id {nt.id}")
        if note.guid in self._guids or not note.guid:
            raise ValueError(f"duplicate or empty guid {note.guid!r}")
        self._guids.add(note.guid)
        fields, first, csum, tags = _note_columns(note)
        if media:
            self.add_media(media)
        did = self._deck_id(note.deck)
        nid = _ID_BASE + _BLOCK * self._position
        self._note_rows.append((nid, note.guid, nt.id, note.mod, -1, tags,
                                fields, first, csum, 0, ""))
        self._card_rows.extend(_card_row(nid, did, o, note, self._position)
                               for o in _card_ords(note))
        self._position += 1
        self._newest = max(self._newest, note.mod, nt.revision)
        if len(self._note_rows) >= self._BATCH:
            self._flush()
        return nid

    def update(self, note: PackageNote, nid: int) -> None:
        """Give the base collection's note `nid` (as `add` returned it) new fields, tags and
        `mod`. The caller makes sure its notetype, deck and cards are the ones the base holds:
        the rows are then the ones a fresh package would hold, so Anki imports the same. By
        id, as the base has no index of GUIDs: finding them read all its notes (20,000
        notes: 150 MB)."""
        fields, first, csum, tags = _note_columns(note)
        if self._db.execute("UPDATE notes SET mod = ?, tags = ?, flds = ?, sfld = ?, csum = ? "
                            "WHERE id = ? AND guid = ?",
                            (note.mod, tags, fields, first, csum, nid, note.guid)).rowcount != 1:
            raise ValueError(f"the base collection holds no note {note.guid!r} of id {nid}")
        self._db.execute("UPDATE cards SET mod = ? WHERE nid = ?", (note.mod, nid))
        self._newest = max(self._newest, note.mod)

    def add_media(self, media: Mapping[str, Path]) -> None:
        """Media files to ship: name in the package (flat) → file on disk."""
        for name, file in media.items():
            if not name or name in {".", ".."} or any(c in name for c in "/\\\0"):
                raise ValueError(f"media name {name!r} must be a plain file name")
            self._media[name] = file

    @property
    def media(self) -> Mapping[str, Path]:
        return self._media

    @property
    def collection(self) -> Path | None:
        """Where the finished collection stays: `keep`, or the base it updated."""
        return self._base if self._base is not None else self.keep

    def _deck_id(self, name: str) -> int:
        """Decks (and every ancestor, written explicitly) by case-folded name: Anki would
        import `A::b` and `A::B` as `A::B` and `A::b_`; the first spelling wins."""
        found = self._decks.get(name.casefold())
        if found is not None:
            return found[0]
        for ancestor in deck_names(name):
            key = ancestor.casefold()
            if key not in self._decks:
                self._decks[key] = (_free_id(key, "deck", 2, _MAX_ID - 2, self._deck_ids),
                                    ancestor)
        return self._decks[name.casefold()][0]

    def _flush(self) -> None:
        self._db.executemany("INSERT INTO notes VALUES (?,?,?,?,?,?,?,?,?,?,?)", self._note_rows)
        self._db.executemany("INSERT INTO cards VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                             self._card_rows)
        self._note_rows, self._card_rows = [], []

    def close(self) -> Path:
        """Finish the collection, zip it with the media, and put it at `path` atomically."""
        try:
            self._flush()
            timestamp = self._timestamp if self._timestamp is not None else self._newest
            conf, default_deck, dconf = self._col_defaults or _genanki_col()
            decks_json = {str(did): {**default_deck, "id": did, "name": name, "mod": timestamp}
                          for did, name in self._decks.values()}
            models_json = self._models_json or _dumps(
                {str(i): _model_json(nt) for i, nt in self._notetypes.items()})
            crt = (_CREATED - date(1970, 1, 1)).days * 86400
            self._db.execute("INSERT OR REPLACE INTO col VALUES (1,?,?,?,11,0,0,0,?,?,?,?,'{}')",
                             (crt, timestamp * 1000, timestamp * 1000, conf,
                              models_json, _dumps(decks_json), dconf))
            if self._base is None:  # a new collection: indexes once, after the rows (faster)
                for statement in _schema()[1]:
                    self._db.execute(statement)
            self._db.execute("COMMIT")
            self._committed = True
            self._db.close()
            self.written = write_zip(self.path, self._db_path, self._media, timestamp)
            if self.keep is not None:
                self.keep.parent.mkdir(parents=True, exist_ok=True)
                # A journal left by an update that was killed belongs to the collection being
                # replaced: SQLite would play it back into this one when it is next opened.
                Path(f"{self.keep}-journal").unlink(missing_ok=True)
                shutil.move(self._db_path, self.keep)
            return self.path
        finally:
            self.abort()

    def abort(self) -> None:
        """Drop everything written so far; the package at `path` is left as it was. A base's
        changes roll back, or, once committed but not zipped, the base goes: it no longer
        matches its package."""
        self._db.close()
        if self._base is not None and self._committed and self.written is None:
            self._base.unlink(missing_ok=True)
        self._work.cleanup()


def write_package(
    path: Path, notes: Iterable[PackageNote], media: Mapping[str, Path], *, timestamp: int
) -> Path:
    """Write ``notes`` and ``media`` (name in package -> file) to ``path``; return ``path``.

    ``timestamp`` (seconds) stands in for "now" everywhere, so identical inputs give identical
    bytes.  The zip is built next to ``path`` and ``os.replace``d over it: readers see the old
    or the new package, never half of one, and a failed build leaves the old one in place."""
    with PackageWriter(path, timestamp=timestamp) as writer:
        for note in notes:
            writer.add(note)
        writer.add_media(media)
    return Path(path)
