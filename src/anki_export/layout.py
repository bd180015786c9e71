"""What the last build wrote, note by note, so that the next can update its packages in place.

The common rebuild (a scheduled CI job, an evening of edits) changes the text of a few notes
and nothing else: the same notes in the same order give the same cards, with the same GUIDs,
notetypes, decks, card numbers and media. Then only the changed notes are rendered, stamped
and written, into the collection the last build kept (each note found by the id it was given
there, `CardSlot`); the other notes' cards are not even read from the cache. Anything else (a
note added, removed or moved, a card added or gone, another image, other settings, a removed
section's time running out, a manifest that is not the one the last build wrote) takes the
full build.

An updated collection holds the same rows as a fresh one would (`tests/test_incremental.py`),
not the same bytes: byte-for-byte reproducible packages come from a build without a cache
(`--no-cache`, or a first build). Whether to update in place is decided in plan.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, NamedTuple

from .cache import CACHE_NAME
from .collect import NoteSummary
from .config import Config
from .errors import Diagnostic
from .files import file_stamp
from .package import PackageNote, card_ords
from .parse import Note
from .pickling import pickle_positionally

if TYPE_CHECKING:
    from .plan import Basis

class CardSlot(NamedTuple):
    """What a card must keep for its note to be updated in place. A named tuple: a vault has
    tens of thousands, and tuples save and load quicker than dataclasses."""

    guid: str
    notetype_id: int
    notetype_revision: int
    deck: str
    ords: tuple[int, ...]  # its card numbers
    media: tuple[str, ...]  # its media files (and review states carried, which only a fresh
    # card row takes)
    note_id: int  # of its note in the package (a card sharing another's GUID is not written,
    # but then the build fails: no layout is kept)


@dataclass(frozen=True, slots=True)
class NoteLayout:
    """One note of the last build, as an update in place needs it."""

    key: str  # the note's render key (`plan.render_keys`)
    rel: str  # its file, as a POSIX path
    text: str  # its text's digest: `plan` tells a note whose text changed from one whose
    # embeds or identity did
    title: str
    skipped: tuple[str, ...]  # as in `NoteSummary`
    problems: tuple[Diagnostic, ...]  # its warnings, reported again while it is unchanged
    cards: tuple[CardSlot, ...]


@dataclass(frozen=True, slots=True)
class KeptPackage:
    """A written package and the collection kept beside it for the next update."""

    path: Path  # the package
    collection: Path  # its collection, kept uncompressed
    stamp: tuple[int, int]  # the collection's size and mtime when kept: it must still be so
    media: Mapping[str, str]  # name in the package → file
    written: tuple[int, int] | None  # the package's size and mtime as written


@dataclass(frozen=True, slots=True)
class Layout:
    """Everything of the last build that an update in place must find unchanged."""

    basis: Basis  # equal, or the layout is of no use (`plan.plan_build`)
    context: str  # `plan.render_context`: a note's why, when only some notes changed
    notes: tuple[NoteLayout, ...]
    tombstones: frozenset[str]  # GUIDs of removed sections shipped once more
    packages: Mapping[str, KeptPackage]  # by top-level deck ("" without `split`)

    def usable(self) -> bool:
        """Every package and kept collection is still as the last build left it (a package
        replaced since, by another tool or build, is not the one to update)."""
        return all(p.written is not None and file_stamp(p.path) == p.written
                   and file_stamp(p.collection) == p.stamp for p in self.packages.values())


def card_slots(shipped: Sequence[PackageNote], media: Sequence[tuple[PurePosixPath, ...]],
               note_ids: Sequence[int]) -> tuple[CardSlot, ...]:
    return tuple(CardSlot(n.guid, n.notetype.id, n.notetype.revision, n.deck,
                          _one_copy(tuple(card_ords(n.notetype, n.fields))),
                          (*(p.as_posix() for p in m),
                           *((repr(n.reviews),) if n.reviews else ())), nid)
                 for n, m, nid in zip(shipped, media, note_ids, strict=True))


@cache
def _one_copy(ords: tuple[int, ...]) -> tuple[int, ...]:
    """The first tuple of these card numbers: nearly every card has `(0,)`, and the layout
    holds a tuple per card (20,000 notes: 6 MB of copies)."""
    return ords


def note_layout(key: str, text: str, note: Note, problems: tuple[Diagnostic, ...],
                cards: tuple[CardSlot, ...]) -> NoteLayout:
    return NoteLayout(key, note.rel.as_posix(), text, note.title, note.skipped, problems, cards)


def summary(note: Note, layout: NoteLayout) -> NoteSummary:
    return NoteSummary(note.rel, layout.title, len(layout.cards), layout.skipped)


def kept_collection(config: Config, package: Path) -> Path:
    return config.output / CACHE_NAME / f"{package.name}.anki2"


def kept_package(path: Path, collection: Path, media: Mapping[str, Path],
                 written: tuple[int, int] | None) -> KeptPackage:
    """Once the package is written and its collection kept."""
    return KeptPackage(path, collection, file_stamp(collection),
                       {name: str(file) for name, file in media.items()}, written)


for _layout_class in (NoteLayout, KeptPackage, Layout):  # quick to save and load
    pickle_positionally(_layout_class)
