"""The build manifest (`anki-export.lock`): what the last build shipped, so the next one knows
what changed.

Anki's importer updates a known note only when the incoming modification time is *newer* than
its own, and treats an equal time as "already have it". So a note's `mod` must advance exactly
when its content changes and stay put otherwise, on every machine. The manifest remembers each
note's content digest and `mod`: unchanged content keeps its `mod`, changed content gets the
build time (at least one second later than before), and a note that disappeared is shipped
once more, tagged `anki-export::removed`, because an import can never delete a note.
It also remembers the clozes of each cloze note, so a highlight keeps its number (and so its
card) from build to build; see `cloze_numbers.number_clozes`.
It is small, sorted JSON, meant to be committed next to the notes so CI runs share it.
"""

from __future__ import annotations

import hashlib
import json
import re
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any, NamedTuple

from .cards import Card
from .cloze_numbers import ClozeMemory, Numbering, number_clozes
from .errors import OutputError
from .files import PIECE, Bytes, atomic_path, let_go
from .notetypes import notetype_named
from .package import NoteType, PackageNote, deck_names

FORMAT = 1
REMOVED_TAG = "anki-export::removed"
REMOVED_RETENTION = 30 * 24 * 3600
"""How long a removed section keeps being shipped (seconds of build time), so that a user who
imports every few weeks still gets the removal tag. After that, a card deleted in Anki would only
come back if it were shipped again, so it no longer is."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One shipped note as the manifest remembers it."""

    digest: str  # of everything Anki stores for the note: notetype, deck, fields, tags
    mod: int  # the modification time it was shipped with
    key: str  # "<identity>#<section key>", for reports
    source: str  # vault-relative file, so a note skipped for an error keeps its entries
    notetype: str
    deck: str
    fields: tuple[str, ...]  # as shipped, but the answer blanked: a removed card shows a notice
    tags: tuple[str, ...]
    removed: int | None = None  # build time when the section vanished from the notes
    clozes: tuple[tuple[int, str], ...] = ()  # a cloze note's (number, text) in reading order
    empty_clozes: tuple[tuple[int, str], ...] = ()  # numbers whose cloze is gone: their cards
    # are empty in Anki and never go to another cloze

    @property
    def cloze_memory(self) -> ClozeMemory:
        return ClozeMemory(self.clozes, self.empty_clozes)


_string: Callable[[str], str] = encode_basestring  # a JSON string, as `json` writes it


@dataclass(frozen=True, slots=True)
class Manifest:
    """The build manifest (the lock file): every card the vault has shipped, by GUID."""

    notes: Mapping[str, Entry] = field(default_factory=dict)  # by GUID
    text: Bytes = field(default=b"", compare=False, repr=False)  # the file as read, if it was

    def owners(self) -> dict[str, frozenset[str]]:
        """Identity (a plain permalink, or one made specific: `permalink|…`) → the files whose
        cards were shipped under it (see notes.py)."""
        found: dict[str, set[str]] = {}
        for _, key, source, removed in _facts(self.notes):
            if removed is None:
                found.setdefault(key.split("#", 1)[0], set()).add(source)
        return {k: frozenset(v) for k, v in found.items()}

    def expiry(self) -> int | None:
        """When the oldest removed section stops being shipped (a build must notice)."""
        removed = [r for _, _, _, r in _facts(self.notes) if r is not None]
        return min(removed) + REMOVED_RETENTION if removed else None

    def stored_facts(self) -> Facts | None:
        """`manifest_facts` of a manifest read as the last build wrote it (the facts that
        build kept, not parsed from the file), else None."""
        notes = self.notes
        return notes.facts() if isinstance(notes, _StoredEntries) and notes.raw is None else None

    def pins(self) -> dict[str, str]:
        """Pinned card key (`<identity>#^<id>`) → the GUID it is bound to."""
        return {key: guid for guid, key, _, removed in _facts(self.notes)
                if "#^" in key and not removed}


class Fact(NamedTuple):
    """What a build asks of every entry: its key, source and removal time."""

    key: str
    source: str
    removed: int | None


Facts = Mapping[str, Fact]  # by GUID


class KnownManifest(NamedTuple):
    """What `read_manifest` needs to know of the manifest the last build wrote, to read it
    without parsing it (`_StoredEntries`) when it is still that file."""

    digest: str  # of the file as this build read it
    written: str  # the digest the last build wrote it with
    facts: Facts  # its `manifest_facts`


class Place(NamedTuple):
    """Where an entry's line is in the manifest's text (`_StoredEntries.seek`)."""

    at: int  # where it starts, or would go
    found: bool  # whether it is there


class _StoredEntries(Mapping[str, Entry]):
    """A manifest's entries as read: each becomes an `Entry` when first asked for. A large
    manifest holds tens of thousands, and a build that updates its package looks at few.

    Read as JSON (`raw`), or, when it is the very file the last build wrote (the cache knows
    its digest and `facts`), not parsed at all: an entry is found by a binary search over
    its sorted lines and read alone; once many are asked for (a full build asks for every
    one), by where each line starts, found in one pass."""

    def __init__(self, path: Path, raw: Mapping[str, Any] | None = None, text: Bytes = b"",
                 facts: Facts | None = None) -> None:
        self.path, self.raw, self.text = path, raw, text
        self._facts = facts
        self._made: dict[str, Entry] = {}
        self._shared: dict[Any, Any] = {}  # see `_entry`
        self._searches = 0
        self._lines: tuple[list[str], array[int]] | None = None  # GUIDs in order, line starts

    def __getitem__(self, guid: str) -> Entry:
        entry = self._made.get(guid)
        if entry is None:
            if self.raw is not None:
                raw = self.raw[guid]
                if (problem := _problem(raw)) is not None:
                    raise _damaged(problem, self.path, _line_of(self.text, guid))
            elif guid in self.facts() and (place := self.seek(guid)).found:
                line = self.text[place.at : _line_end(self.text, place.at)]
                raw = json.loads(line[line.index(b'": ') + 3 :].removesuffix(b","))
                if len(self._made) % 4096 == 4095:  # a full build looks every entry up: the
                    let_go(self.text)  # pages its searches touched go, a few MB at a time
            else:
                raise KeyError(guid)
            entry = self._made[guid] = _entry(raw, self._shared)
        return entry

    def made(self, guid: str) -> Entry | None:
        """The entry already made for this GUID, if any."""
        return self._made.get(guid)

    def __iter__(self) -> Iterator[str]:
        return iter(self.raw if self.raw is not None else self.facts())

    def __len__(self) -> int:
        return len(self.raw if self.raw is not None else self.facts())

    def facts(self) -> Facts:
        if self._facts is None:
            assert self.raw is not None
            for guid, raw in self.raw.items():  # what every build asks of every entry
                if (problem := _fact_problem(guid, raw)) is not None:
                    raise _damaged(problem, self.path, _line_of(self.text, guid))
            self._facts = {guid: Fact(raw["key"], raw["source"], raw.get("removed"))
                           for guid, raw in self.raw.items()}
        return self._facts

    def region(self) -> tuple[int, int]:
        """Where the entry lines are in the text: the first one's start, and the position
        after the newline ending the last one (both 0 when there are none)."""
        first = self.text.find(b'\n    "') + 1
        last = self.text.rfind(b'\n    "') + 1
        if not first:
            return 0, 0
        return first, _line_end(self.text, last) + 1

    def seek(self, guid: str) -> Place:
        """Where the GUID's line starts, or would go: a binary search over the entry lines,
        which the file holds in GUID order (as written)."""
        assert self._facts is not None
        self._searches += 1
        if self._searches == 256:
            self._lines = self._line_starts()
        if self._lines is not None:
            guids, starts = self._lines
            rank = bisect_left(guids, guid)
            return Place(starts[rank], rank < len(guids) and guids[rank] == guid)
        text, wanted = self.text, guid.encode()  # UTF-8 sorts as the code points do
        low, high = self.region()
        while low < high:  # lines before `low` sort before the GUID, lines from `high` after
            start = max(low, text.rfind(b"\n", 0, (low + high) // 2) + 1)
            end = _line_end(text, start)
            found = text[start + 5 : text.find(b'"', start + 5, end)]
            if found == wanted:
                return Place(start, True)
            if found < wanted:
                low = end + 1
            else:
                high = start
        return Place(low, False)

    def _line_starts(self) -> tuple[list[str], array[int]] | None:
        """The GUIDs in file order (their sort order) and where each one's line starts, then
        where the lines end; None if the lines are not one per fact."""
        assert self._facts is not None
        low, high = self.region()
        starts = array("q", (low,))
        at = self.text.find(b'\n    "', low)
        while 0 <= at < high:
            starts.append(at + 1)
            at = self.text.find(b'\n    "', at + 1)
        starts.append(high)
        let_go(self.text)
        guids = sorted(self._facts)
        return (guids, starts) if high > low and len(starts) == len(guids) + 1 else None


def _line_end(text: Bytes, start: int) -> int:
    """Where the line from `start` ends (a mapped file has `find`, not `index`)."""
    end = text.find(b"\n", start)
    return end if end >= 0 else len(text)


class _ShippedEntries(Mapping[str, Entry]):
    """A build's manifest: the entries it made, and the last manifest's for the cards it kept
    (`Release.keep`), which are not even made into `Entry`s unless asked for."""

    def __init__(self, made: Mapping[str, Entry], kept: AbstractSet[str],
                 previous: Mapping[str, Entry]) -> None:
        self.made, self.kept, self.previous = made, kept, previous

    def __getitem__(self, guid: str) -> Entry:
        if guid in self.made:
            return self.made[guid]
        if guid in self.kept:
            return self.previous[guid]
        raise KeyError(guid)

    def __iter__(self) -> Iterator[str]:
        yield from self.made
        yield from self.kept

    def __len__(self) -> int:
        return len(self.made) + len(self.kept)


def _facts(notes: Mapping[str, Entry]) -> Iterator[tuple[str, str, str, int | None]]:
    """(GUID, key, source, removed) of every entry, without making entries that were not."""
    if isinstance(notes, _ShippedEntries):
        yield from _facts(notes.made)
        facts = notes.previous.facts() if isinstance(notes.previous, _StoredEntries) else {
            guid: fact for guid, *fact in _facts(notes.previous)}
        yield from ((guid, *facts[guid]) for guid in notes.kept)
    elif isinstance(notes, _StoredEntries):
        yield from ((guid, *fact) for guid, fact in notes.facts().items())
    else:
        for guid, entry in notes.items():
            yield guid, entry.key, entry.source, entry.removed


def manifest_facts(manifest: Manifest) -> Iterator[tuple[str, Fact]]:
    """What the next build needs to know of this manifest without reading it (see
    `_StoredEntries`), by GUID; one at a time, for the cache to store a part at a time."""
    return ((guid, Fact(key, source, removed))
            for guid, key, source, removed in _facts(manifest.notes))


@dataclass(frozen=True, slots=True)
class Move:
    """Cards that changed deck since the last build, from one deck to another: Anki's import
    updates a note it has but never moves its cards, so the user must (Browse → Change Deck)."""

    old: str  # the deck they are in, in Anki
    new: str  # the deck they belong in now
    sources: tuple[str, ...]  # the notes' files
    search: str  # what finds exactly these cards in Anki's browser (`anki_search`)


@dataclass(frozen=True, slots=True)
class Changes:
    """What a build changed against the last one, for the report."""

    added: tuple[str, ...]  # keys
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    unchanged: int
    emptied: tuple[tuple[str, tuple[int, ...]], ...] = ()  # (key, cloze numbers) whose cloze
    # left the note in this build: empty cards in Anki until Tools → Empty Cards
    moved: tuple[Move, ...] = ()  # by old deck, then new deck


def content_digest(notetype: NoteType, deck: str, fields: Iterable[str],
                   tags: Iterable[str], media: str = "") -> str:
    """Everything Anki stores for a note, and the notetype's revision: Anki applies a newer
    notetype only while importing notes that use it, so an upgraded template re-stamps them."""
    data = "\x1e".join((notetype.name, str(notetype.revision), deck, "\x1f".join(fields),
                       " ".join(sorted(tags)), media))
    return hashlib.sha256(data.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def stamp_mod(previous: Entry | None, digest: str, now: int) -> int:
    """The note's modification time: kept while its content is unchanged, else the build time,
    and always later than what was shipped before so Anki takes the update."""
    if previous is None:
        return now
    if previous.digest == digest and previous.removed is None:
        return previous.mod
    return max(now, previous.mod + 1)


def read_manifest(path: Path, known: KnownManifest | None = None, *,
                  data: Bytes | None = None) -> Manifest:
    """An absent manifest is an empty one; a corrupt one is an error, not a silent reset
    (a reset would re-stamp every note and drop removal tags).

    `known`: when it is the manifest the last build wrote (the two digests equal), the file
    is not parsed (see `_StoredEntries`). `data` is the file's bytes if the caller read them."""
    try:  # bytes, not text: half the memory, and the text is rarely needed
        text = data if data is not None else path.read_bytes()
        if known is not None and known.digest and known.digest == known.written:
            return Manifest(_StoredEntries(path, text=text, facts=known.facts), text)
        text = text[:]  # parsed whole: bytes, even where the file was mapped
        data = json.loads(text)
    except (FileNotFoundError, NotADirectoryError):
        return Manifest()
    except (OSError, ValueError) as e:
        raise OutputError(f"cannot read the build manifest ({e}); restore it from version "
                          "control or delete it to start afresh", path=path) from e
    if not isinstance(data, dict) or data.get("anki-export") != FORMAT:
        raise OutputError("this build manifest was written by another version of anki-export; "
                          "delete it to start afresh", path=path)
    notes = data.get("notes", {})
    if not isinstance(notes, dict):
        raise _damaged('"notes" must be an object, by card ID', path, _line_of(text, "notes"))
    return Manifest(_StoredEntries(path, raw=notes, text=text), text)


def _entry(raw: Mapping[str, Any], shared: dict[Any, Any]) -> Entry:
    """An entry checked by `_problem`. `shared` holds one copy of each file, notetype, deck
    and tag set: the entries of a note repeat them, and a full build reads every entry (40 MB
    of copies at 20,000 notes)."""
    def one(value: Any) -> Any:
        return shared.setdefault(value, value)

    return Entry(raw["digest"], raw["mod"], raw["key"], one(raw["source"]),
                 one(raw["notetype"]), one(raw["deck"]), tuple(raw["fields"]),
                 one(tuple(raw["tags"])), raw.get("removed"), _pairs(raw.get("clozes")),
                 _pairs(raw.get("empty_clozes")))


_MAX_TIME = (1 << 53) - 1  # seconds; exact in JSON and JavaScript, and in Anki's milliseconds


def _is_time(value: object) -> bool:
    return type(value) is int and 0 <= value <= _MAX_TIME


def _fact_problem(guid: str, raw: object) -> str | None:
    """What is wrong with the entry's `Fact` (key, source, when removed), or None."""
    if not guid:
        return "an entry without a card ID"
    if not isinstance(raw, dict):
        return f"entry {guid} must be an object"
    for name in ("key", "source"):
        if not isinstance(raw.get(name), str):
            return f'entry {guid}: "{name}" must be a string'
    removed = raw.get("removed")
    if removed is not None and not _is_time(removed):
        return (f'entry {guid}: "removed" must be a whole number of seconds (0 to 2^53), '
                f"not {removed!r}")
    return None


def _problem(raw: Mapping[str, Any]) -> str | None:
    """What is wrong with an entry as read from a hand-edited or badly merged manifest, or
    None: every field the build will use, checked as a package would check it, so nothing
    that cannot be shipped (or read back next time) gets past reading."""
    for name in ("digest", "notetype", "deck"):
        if not isinstance(raw.get(name), str):
            return f'"{name}" must be a string'
    if not _is_time(raw.get("mod")):
        return f'"mod" must be a whole number of seconds (0 to 2^53), not {raw.get("mod")!r}'
    try:
        deck_names(raw["deck"])
    except ValueError:
        return f'"deck" {raw["deck"]!r} is not a deck name (an empty or space-padded part)'
    try:
        notetype = notetype_named(raw["notetype"])
    except KeyError:
        return f'unknown notetype "{raw["notetype"]}"'
    return _lists_problem(raw, notetype)


def _lists_problem(raw: Mapping[str, Any], notetype: NoteType) -> str | None:
    """`_problem`, of the fields, tags and clozes."""
    fields = raw.get("fields")
    if not (isinstance(fields, list) and all(isinstance(f, str) for f in fields)):
        return '"fields" must be a list of strings'
    if len(fields) != len(notetype.fields):
        return (f'"fields" holds {len(fields)} fields, but notetype "{notetype.name}" has '
                f"{len(notetype.fields)}")
    tags = raw.get("tags")
    if not (isinstance(tags, list)
            and all(isinstance(t, str) and t and not any(c.isspace() for c in t) for t in tags)):
        return '"tags" must be a list of tags, each without spaces'
    for name in ("clozes", "empty_clozes"):
        pairs = raw.get(name, [])
        if not (isinstance(pairs, list) and all(
                isinstance(p, list) and len(p) == 2 and type(p[0]) is int and p[0] > 0
                and isinstance(p[1], str) for p in pairs)):
            return f'"{name}" must be a list of [cloze number, text] pairs'
    return None


def _line_of(text: Bytes, guid: str) -> int | None:
    """The line of the manifest where this card ID's entry starts, if it can be found."""
    at = text.find(_string(guid).encode() + b":")
    return text[:at].count(b"\n") + 1 if at >= 0 else None


def _damaged(problem: str, path: Path, line: int | None) -> OutputError:
    return OutputError(f"the build manifest is damaged: {problem}; restore it from version "
                       "control or delete it (every card is then treated as new, which is "
                       "harmless)", path=path, line=line)


def _lines_by_guid(text: Bytes) -> dict[str, bytes]:
    """The file's line of each entry (`    "GUID": {…},`), as `write_manifest` writes them."""
    found = {}
    for line in text[:].split(b"\n"):  # a checkout may have turned them into "\r\n"
        if line.startswith(b'    "') and (end := line.find(b'": ', 5)) > 0:
            found[line[5:end].decode("utf-8", "replace")] = (
                line.rstrip(b"\r").removesuffix(b","))
    return found


def _pairs(raw: list[list[Any]] | None) -> tuple[tuple[int, str], ...]:
    """`[[1, "il-6"], …]` as written by `write_manifest`; absent in older lock files."""
    return tuple((number, text) for number, text in raw or ())


def write_manifest(path: Path, manifest: Manifest,
                   before_replacing: Callable[[], object] = lambda: None) -> str:
    """Atomically, sorted, one note per line, so its diff in a garden repository stays readable.
    Line by line: the text of a large manifest is never held whole. `before_replacing` runs
    once it is written, before it replaces the old one: the build writes its packages there,
    so the manifest only ever describes a package that was written, and a manifest that
    cannot be written (a full disk) fails the build before any package is replaced. Returns
    the `file_digest` of what it wrote."""
    digest = hashlib.sha256()
    try:
        with atomic_path(path) as tmp:
            with tmp.open("wb") as out:
                for text in _manifest_text(manifest):
                    out.write(text)
                    digest.update(text)
            before_replacing()
    except OSError as e:
        raise OutputError(f"cannot write the build manifest ({e.strerror}); check that the "
                          "folder is writable", path=path) from e
    return digest.hexdigest()


def _manifest_text(manifest: Manifest) -> Iterator[bytes | memoryview]:
    yield f'{{\n  "anki-export": {FORMAT},\n  "notes": {{\n'.encode()
    for n, lines in enumerate(_entry_lines(manifest)):
        if n and isinstance(lines, bytes):
            yield b",\n" + lines
        else:
            if n:
                yield b",\n"
            yield from _pieces(lines)  # a line, or a run of the stored text: not copied
    yield b"\n  }\n}\n"


def _pieces(run: bytes | memoryview) -> Iterator[bytes | memoryview]:
    """A long run of the last manifest's lines a piece at a time, the pages of each let go
    once it is written (when the file is mapped): tens of MB at 20,000 notes, never held."""
    if len(run) <= PIECE:
        yield run
        return
    for start in range(0, len(run), PIECE):
        yield run[start : start + PIECE]
        if isinstance(run, memoryview):
            let_go(run.obj)


def _entry_lines(manifest: Manifest) -> Iterator[bytes | memoryview]:
    """The entries' lines, in GUID order, one or several at a time (joined by ",\\n"). An entry
    read from the file and shipped unchanged is written as the line it was read from, not
    encoded again (most of a big manifest, on most builds)."""
    notes = manifest.notes
    if isinstance(notes, _ShippedEntries) and isinstance(notes.previous, _StoredEntries):
        if notes.previous.raw is None:
            yield from _spliced_lines(notes, notes.previous)
            return
        lines = _lines_by_guid(manifest.text)
        for guid in sorted(notes):
            line = lines.get(guid)
            entry = notes[guid]
            if line is not None and (guid in notes.kept or entry is notes.previous.made(guid)):
                yield line
            else:
                yield _line(guid, entry)
        return
    for guid in sorted(notes):
        yield _line(guid, notes[guid])


def _spliced_lines(notes: _ShippedEntries, stored: _StoredEntries
                   ) -> Iterator[bytes | memoryview]:
    """The stored text's entry lines in runs copied whole, with this build's changes spliced
    in where a binary search puts them: a rebuild that changed a few cards of a large vault
    writes its manifest in a few slices (views of the text, not copies of it: at 20,000
    notes a run is tens of MB)."""
    edits: dict[str, bytes | None] = {  # GUID → its new line, or None where it goes
        guid: _line(guid, entry) for guid, entry in notes.made.items()
        if entry is not stored.made(guid)}
    edits.update(dict.fromkeys(stored.facts().keys() - notes.kept - notes.made.keys()))
    text = stored.text
    cursor, end = stored.region()
    for guid in sorted(edits):
        at, found = stored.seek(guid)
        if at > cursor:
            yield _run(text, cursor, at - 1)  # whole lines, up to this one
        line = edits[guid]
        if line is not None:
            yield line
        cursor = _line_end(text, at) + 1 if found else at
    if cursor < end:
        yield _run(text, cursor, end - 1)


def _run(text: Bytes, start: int, stop: int) -> memoryview:
    """`text[start:stop]` without its trailing comma, as a view."""
    if stop > start and text[stop - 1] == ord(","):
        stop -= 1
    return memoryview(text)[start:stop]


def _line(guid: str, entry: Entry) -> bytes:
    """The entry's line, as `json.dumps(…, ensure_ascii=False, sort_keys=True)` writes the
    entry's fields (`tests/test_manifest.py` compares), the unset optional ones left out so
    that lock files without them read as before they existed. Put together here, not by the
    encoder, which does per value what this does per line: a manifest holds a line per card
    (130,000 at 20,000 notes), written as the build ends."""
    clozes = f'"clozes": {_number_pairs(entry.clozes)}, ' if entry.clozes else ""
    empty = f'"empty_clozes": {_number_pairs(entry.empty_clozes)}, ' if entry.empty_clozes else ""
    removed = f'"removed": {entry.removed}, ' if entry.removed is not None else ""
    return (f'    {_string(guid)}: {{{clozes}"deck": {_string(entry.deck)}, '
            f'"digest": {_string(entry.digest)}, {empty}"fields": {_strings(entry.fields)}, '
            f'"key": {_string(entry.key)}, "mod": {entry.mod}, '
            f'"notetype": {_string(entry.notetype)}, {removed}"source": '
            f'{_string(entry.source)}, "tags": {_strings(entry.tags)}}}').encode()


def _strings(values: Iterable[str]) -> str:
    return f"[{', '.join(map(_string, values))}]"


def _number_pairs(pairs: Iterable[tuple[int, str]]) -> str:
    return f"[{', '.join(f'[{number}, {_string(text)}]' for number, text in pairs)}]"


REMOVED_NOTICE = ('<p class="ae-removed">This section is no longer in your notes. Find every '
                  "such card with the search <code>tag:anki-export::removed</code> and delete "
                  "them.</p>")
_BLANKED_FIELDS = ("Answer", "Extra")


class Release:
    """Decides each note's `mod` as its card comes, ships removed sections once more, and gives
    the next manifest: cards stream through it into the package, none is kept.

    `media` digests the bytes of the files a card shows: an image edited in place changes no
    field, but must reach Anki, which only takes a note whose `mod` moved.

    `kept_sources` are files that could not be read this time (skipped with --keep-going): their
    notes are neither shipped nor counted as removed, so one broken file cannot retire its cards.
    """

    def __init__(self, previous: Manifest, now: int, kept_sources: frozenset[str] = frozenset(),
                 media: Callable[[Card], str] = lambda card: "") -> None:
        self.previous, self.now, self.kept_sources, self.media = previous, now, kept_sources, media
        self.entries: dict[str, Entry] = {}
        self.kept: set[str] = set()  # GUIDs whose entries stay as they were (`keep`)
        self.added: list[str] = []
        self.changed: list[str] = []
        self.removed: list[str] = []
        self.emptied: list[tuple[str, tuple[int, ...]]] = []
        self.unchanged = 0
        self.moves: dict[tuple[str, str], dict[str, str]] = {}  # (old, new deck) → each moved
        # note's file → its cards' breadcrumb (as Anki stores it: what a search can find)
        self.stayed: set[str] = set()  # decks that kept some card of the last build
        self._tags: dict[tuple[str, ...], tuple[str, ...]] = {}  # one copy of each set

    def ship(self, card: Card) -> PackageNote:
        """The card as the package gets it, with its `mod` decided."""
        before = self.previous.notes.get(card.guid)
        fields, numbering = _numbered(card, before)
        if numbering is not None and numbering.emptied:
            self.emptied.append((card.key, numbering.emptied))
        digest = content_digest(card.notetype, card.deck, fields, card.tags, self.media(card))
        mod = stamp_mod(before, digest, self.now)
        if before is not None and before.deck != card.deck:
            breadcrumb = fields[card.notetype.fields.index("Breadcrumb")]
            self.moves.setdefault((before.deck, card.deck), {})[card.source.as_posix()] = (
                breadcrumb)
        elif before is not None:
            self.stayed.add(before.deck)
        if before is None or before.removed is not None:
            self.added.append(card.key)
        elif mod != before.mod:
            self.changed.append(card.key)
        else:
            self.unchanged += 1
        memory = numbering.memory if numbering is not None else ClozeMemory()
        entry = Entry(digest, mod, card.key, card.source.as_posix(), card.notetype.name,
                      card.deck, _kept(card, fields, memory),
                      self._tags.setdefault(card.tags, card.tags), clozes=memory.live,
                      empty_clozes=memory.empty)
        self.entries[card.guid] = before if entry == before else entry  # its line is reused
        return PackageNote(card.guid, card.notetype, card.deck, fields, card.tags, mod,
                           card.reviews)

    def keep(self, guids: Iterable[str]) -> None:
        """Cards of notes unchanged since the last build (their text, their context, their
        media): their entries, and so their `mod`, stay as shipped; no card is made for them.
        Each GUID counts once as unchanged, however often it is kept."""
        before = len(self.kept)
        self.kept.update(guids)
        self.unchanged += len(self.kept) - before

    def retired(self) -> list[PackageNote]:
        """After the last card: the sections that are gone, shipped once more as notices for
        30 days (see REMOVED_RETENTION), and kept in the manifest for as long."""
        shipped = []
        # A set difference in C: the stored entries' keys view would test each GUID in Python.
        for guid in sorted(set(self.previous.notes) - self.entries.keys() - self.kept):
            entry = self.previous.notes[guid]
            if entry.source in self.kept_sources and entry.removed is None:
                self.entries[guid] = entry
                continue
            if entry.removed is None:
                self.removed.append(entry.key)
                tags = tuple(sorted({*entry.tags, REMOVED_TAG}))
                digest = content_digest(notetype_named(entry.notetype), entry.deck,
                                        entry.fields, tags)
                entry = Entry(digest, max(self.now, entry.mod + 1), entry.key, entry.source,
                              entry.notetype, entry.deck, entry.fields, tags, removed=self.now,
                              clozes=entry.clozes, empty_clozes=entry.empty_clozes)
            elif self.now - entry.removed > REMOVED_RETENTION:
                continue
            self.entries[guid] = entry
            shipped.append(_tombstone(guid, entry))
        return shipped

    def manifest(self) -> Manifest:
        return Manifest(_ShippedEntries(self.entries, self.kept, self.previous.notes),
                        self.previous.text)

    def changes(self) -> Changes:
        return Changes(tuple(self.added), tuple(self.changed), tuple(self.removed),
                       self.unchanged, tuple(self.emptied), self._moved())

    def _moved(self) -> tuple[Move, ...]:
        """Each (old deck → new deck) of the moved cards, with the search that finds them: the
        old deck alone (this vault's cards in it, not its subdecks) where every card left it
        for the new one, else their notes' breadcrumbs, which say exactly where they belong."""
        leaving = [old for old, _ in self.moves]
        found = []
        for (old, new), notes in sorted(self.moves.items()):
            deck = f'"deck:{anki_search_text(old)}"'
            if old in self.stayed or leaving.count(old) > 1:
                crumbs = [f'"Breadcrumb:{anki_search_text(b)}"' for b in sorted({*notes.values()})]
                search = f"{deck} {crumbs[0]}" if len(crumbs) == 1 else (
                    f"{deck} ({' OR '.join(crumbs)})")
            else:
                search = f'{deck} -"deck:{anki_search_text(old)}::*" "note:anki-export*"'
            found.append(Move(old, new, tuple(sorted(notes)), search))
        return tuple(found)


def anki_search_text(text: str) -> str:
    """Text matched literally by a search in Anki's browser, inside double quotes: `*`, `_`,
    `\\` and `"` escaped (Anki's wildcards and quoting)."""
    return re.sub(r'([\\"*_])', r"\\\1", text)


def _numbered(card: Card, before: Entry | None) -> tuple[tuple[str, ...], Numbering | None]:
    """The card's fields with its highlights numbered from what the last build shipped (a
    retired entry's memory too: its cards are still in Anki)."""
    if card.cloze is None:
        return card.fields, None
    numbering = number_clozes(card.cloze, before.cloze_memory if before else ClozeMemory())
    return (card.cloze.fill(numbering.highlights), *card.fields[1:]), numbering


def _kept(card: Card, fields: tuple[str, ...], memory: ClozeMemory) -> tuple[str, ...]:
    """The fields the manifest keeps, to ship the note once more if its section goes: only the
    first (the question; a cloze note's Text cut to its context and one empty cloze per card,
    so every card of the note is shipped again), the others blanked: the answer then shows a
    notice, and the manifest stays small enough to read and write in a blink."""
    first = card.cloze.outline(n for n, _ in memory.live) if card.cloze else fields[0]
    return (first, *("" for _ in fields[1:]))


def _tombstone(guid: str, entry: Entry) -> PackageNote:
    notetype = notetype_named(entry.notetype)
    fields = tuple(REMOVED_NOTICE if name in _BLANKED_FIELDS else value
                   for name, value in zip(notetype.fields, entry.fields, strict=True))
    # A new first field, so Anki does not flag the card as a duplicate of the section's new form.
    fields = ("Removed: " + fields[0], *fields[1:])
    return PackageNote(guid, notetype, entry.deck, fields, entry.tags, entry.mod)
