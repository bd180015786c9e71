"""How cards, notes and diagnostics are pickled, for the render cache and the worker processes,
and where a note's pickled sections wait until rendered (`SectionSpill`).

Registered once, by the modules that pickle (`collect`, `notes`); with the `fork` start method
the worker processes inherit it.
"""

from __future__ import annotations

import contextlib
import copyreg
import dataclasses
import errno
import os
import pickle
import tempfile
import weakref
from collections.abc import Callable, Iterator, Sequence
from functools import cache
from pathlib import PurePosixPath
from typing import Any, overload

from .cache import load_pickle
from .cards import Card
from .errors import Diagnostic, OutputError
from .notetypes import notetype_named
from .package import NoteType
from .parse import Note, Section
from .vault import shared_path


@cache
def register_picklers() -> None:
    """How our objects pickle, for every pickle made in the process (`copyreg`): a notetype
    by its name (else its CSS is copied into every card of the cache and of what workers
    send back), a path by its text, found again among the vault's (`vault.shared_path`),
    our dataclasses by their fields' values in order (`pickle_positionally`).

    Process-wide (README, "Process-wide tricks"): registered on import by the modules that
    pickle (`collect`, `notes`, `layout`), inherited by the forked workers. What must stay
    true: every function a pickle names is in the cache's allow-list
    (`cache._CACHED_LOOKUPS`); a library caller's own `PurePosixPath`s pickle through
    `anki_export.vault.shared_path` too, so unpickling them needs anki-export; a dataclass's
    fields in a new order read old cache entries wrongly, which the code digest in every
    cache key (`cache.code_digest`) prevents."""
    copyreg.pickle(NoteType, lambda notetype: (notetype_named, (notetype.name,)))
    copyreg.pickle(PurePosixPath, lambda path: (shared_path, (str(path),)))
    for cls in (Card, Diagnostic, Section):
        pickle_positionally(cls)
    pickle_positionally(Note, sections=_lazy)


class LazySections(Sequence[Section]):
    """A note's sections as pickled, unpickled when first read. The build holds every note
    of the vault, but reads the sections only of those it renders: in a worker process, or,
    when only some notes changed, those alone. Until then they are one compact bytes object,
    or, once `spill`ed, a place in a temporary file."""

    __slots__ = ("_data", "_place", "_sections")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._place: tuple[SectionSpill, int, int] | None = None
        self._sections: tuple[Section, ...] | None = None

    def spill(self, spill: SectionSpill) -> None:
        """Move the pickle into `spill`, out of memory: read back, and never kept, each time
        the sections are read (a worker renders a note once, and keeps nothing of it)."""
        if self._place is None and self._sections is None:
            self._place = (spill, spill.write(self._data), len(self._data))
            self._data = b""

    def _pickle(self) -> bytes:
        if self._place is not None:
            spill, offset, size = self._place
            return spill.read(offset, size)
        return self._data

    def _loaded(self) -> tuple[Section, ...]:
        if self._sections is not None:
            return self._sections
        sections: tuple[Section, ...] = load_pickle(self._pickle())  # from the cache, maybe
        if self._place is None:
            self._sections = sections
        return sections

    @overload
    def __getitem__(self, index: int) -> Section: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[Section, ...]: ...
    def __getitem__(self, index: int | slice) -> Section | tuple[Section, ...]:
        return self._loaded()[index]

    def __len__(self) -> int:
        return len(self._loaded())

    def __iter__(self) -> Iterator[Section]:
        return iter(self._loaded())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LazySections | tuple):
            return self._loaded() == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._loaded())

    def __repr__(self) -> str:
        return repr(self._loaded())

    def __reduce__(self) -> tuple[type[LazySections], tuple[bytes]]:
        return LazySections, (self._pickle(),)


class SectionSpill:
    """A temporary file for the sections of a vault's notes (`LazySections.spill`): the build
    holds every note (links and identities need them all) but reads the sections only of
    those it renders, once. Written in batches; forked workers inherit the open file, and
    `os.pread` shares no file position between them."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 (open as long as the notes)
        weakref.finalize(self, self._file.close)  # once the last note that reads it is gone
        self._pending: list[bytes] = []
        self._written = 0  # bytes in the file; those pending follow
        self._end = 0

    def write(self, data: bytes) -> int:
        """Append `data`; its offset."""
        offset = self._end
        self._pending.append(data)
        self._end += len(data)
        if self._end - self._written >= 1 << 20:
            self.flush()
        return offset

    def flush(self) -> None:
        """Write what is pending (the build does before it forks workers that read it)."""
        data = memoryview(b"".join(self._pending))
        done = 0
        with _temp_errors():
            while done < len(data):
                written = os.pwrite(self._file.fileno(), data[done:], self._written + done)
                if written <= 0:
                    raise OSError(errno.EIO, "nothing written")
                done += written
        self._pending = []
        self._written = self._end

    def read(self, offset: int, size: int) -> bytes:
        if offset + size > self._written:
            self.flush()
        with _temp_errors():
            return os.pread(self._file.fileno(), size, offset)


def new_spill() -> SectionSpill | None:
    """A spill file, or None where none can be made (no `os.pwrite`, as on Windows; no
    usable temporary folder): the sections then stay in memory, as they are only moved out
    to save it."""
    if not hasattr(os, "pwrite"):
        return None
    try:
        return SectionSpill()
    except OSError:
        return None


@contextlib.contextmanager
def _temp_errors() -> Iterator[None]:
    try:
        yield
    except OSError as e:
        raise OutputError(f"cannot write a temporary file ({e.strerror}); make room in the "
                          "temporary folder, or point TMPDIR at a writable folder with space"
                          ) from e


def spilled(note: Note, spill: SectionSpill | None) -> Note:
    """The note, its sections moved into `spill` (where there is one)."""
    if spill is None:
        return note
    sections = _lazy(note.sections)
    sections.spill(spill)
    return note if sections is note.sections else dataclasses.replace(note, sections=sections)


def _lazy(sections: Sequence[Section]) -> LazySections:
    if isinstance(sections, LazySections):
        return sections
    return LazySections(pickle.dumps(tuple(sections), protocol=pickle.HIGHEST_PROTOCOL))


def pickle_positionally(cls: type[Any], **convert: Callable[[Any], Any]) -> None:
    """Pickle a frozen, slotted dataclass as its constructor's arguments: several times faster
    to load than the default, which looks up the class's fields for every object. `convert`
    gives fields another form to be pickled in (one the constructor takes too)."""
    names = tuple(f.name for f in dataclasses.fields(cls))
    if not convert:
        copyreg.pickle(cls, lambda obj: (cls, tuple(getattr(obj, n) for n in names)))
        return
    steps = tuple(convert.get(n, _same) for n in names)
    copyreg.pickle(cls, lambda obj: (cls, tuple(step(getattr(obj, n))
                                                for n, step in zip(names, steps, strict=True))))


def _same(value: Any) -> Any:
    return value
