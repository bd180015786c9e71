"""Cards of unchanged notes, kept between builds, so a rebuild renders only what changed.

A note's cards depend on its own text and on its context: the settings, the code of
anki-export itself, its identity, pinned GUIDs, for a note that embeds others the text of the
whole vault, and what its links, embeds and images find in the vault. The cache key hashes all
of that but the last, which is kept with the cards as questions and answers (`LinkTargets`)
and asked again before they are used: a hit is always the same cards a fresh render would
give, and a note added to the vault renders again only the notes whose links it concerns.
The cache is disposable: a missing or unreadable one just means a full render. It lives
beside the package (`OUTPUT/.anki-export-cache/`), not in the vault, and is never committed;
but a CI cache or a shared folder may hand a build someone else's, so it is read as data
(`load_pickle`), never as code.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import hashlib
import io
import os
import pickle
import re
import sqlite3
import sys
from collections.abc import Iterable, Sized
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

from . import __version__

CACHE_NAME = ".anki-export-cache"
_RENDERING_DEPENDENCIES = ("mdurl", "nh3", "pygments", "pyromark", "python-frontmatter",
                           "pyyaml")

@cache
def code_digest() -> str:
    """Of anki-export's own source and templates: a new version never serves old cards."""
    digest = hashlib.sha256(__version__.encode())
    for installed in _installed(_RENDERING_DEPENDENCIES):  # an upgraded parser may render
        digest.update(installed.encode())  # differently
    folders = [Path(__file__).parent]
    while folders:  # the package and every folder in it (`obsidian/`, `pulldown/`, templates)
        for item in sorted(folders.pop().iterdir(), key=lambda p: p.name):
            if item.is_dir() and not item.name.startswith(("_", ".")):
                folders.append(item)
            elif item.is_file() and item.name.endswith((".py", ".html", ".css", ".js")):
                digest.update(item.name.encode() + b"\0" + item.read_bytes())
    return digest.hexdigest()


def _installed(names: Iterable[str]) -> list[str]:
    """`name-version.dist-info` of each installed distribution of these names, read from the
    folder names on `sys.path` (importing `importlib.metadata` costs more than the rest of an
    up-to-date build's start)."""
    wanted = {re.sub(r"[-_.]+", "_", n).lower() for n in names}
    found = []
    for folder in sys.path:  # names as strings: a site-packages may hold thousands
        with contextlib.suppress(OSError):
            found += [name for name in os.listdir(folder or ".")  # noqa: PTH208
                      if name.endswith(".dist-info") and name.partition("-")[0].lower() in wanted]
    return sorted(found)


_CACHED_LOOKUPS = frozenset({  # functions the cache's pickles name, to find shared objects
    ("anki_export.notetypes", "notetype_named"), ("anki_export.vault", "shared_path"),
    ("anki_export.pickling", "LazySections"),
    ("pathlib", "PosixPath"), ("pathlib", "WindowsPath"), ("pathlib", "PurePosixPath")})


class _DataUnpickler(pickle.Unpickler):
    """Unpickles only the project's own dataclasses, named tuples and enums, the few look-ups
    their pickles name (`_CACHED_LOOKUPS`) and builtin values: a pickle that names anything
    else (`os.system`, say) is refused before it is called, as the pickle documentation's
    "Restricting Globals" shows. Rebuilding one of these only sets its fields, so a new type
    of ours needs no entry here; a new look-up function does."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _CACHED_LOOKUPS:
            return super().find_class(module, name)
        if (module.startswith("anki_export.") and module in sys.modules  # never imported
                and not name.startswith("_")):  # here: `anki_export.__main__` runs the CLI
            found = super().find_class(module, name)
            if isinstance(found, type) and (dataclasses.is_dataclass(found)
                                            or issubclass(found, enum.Enum)
                                            or (issubclass(found, tuple)
                                                and hasattr(found, "_fields"))):
                return found
        raise pickle.UnpicklingError(f"{module}.{name} is not something the cache holds")


def load_pickle(data: bytes) -> Any:
    """A pickle from the render cache, read as data (`_DataUnpickler`)."""
    return _DataUnpickler(io.BytesIO(data)).load()


def digest_of(parts: Iterable[str]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8", "surrogatepass") + b"\x1f")
    return digest.hexdigest()


class StoredParts(NamedTuple):
    """Where `put_parts` stored a value's items: the keys of its parts, and how many."""

    part_keys: tuple[str, ...]
    size: int  # items in all


class PartsHead(NamedTuple):
    """A value stored in parts, as stored under its key (`Parts.finish`)."""

    head: Any
    parts: StoredParts


class Stored(NamedTuple):
    """A value stored in parts, as `get_parts` reads it back."""

    head: Any
    items: list[Any]


class RenderCache:
    """Pickled (cards, diagnostics) of each note by key, in one SQLite file.

    Entries are read a few hundred at a time as they are taken and written in batches as they
    come, each time on a connection opened for it and closed right after: worker processes
    are forked while the build goes, and an SQLite connection must not be shared with a
    forked child. `read_only` (for `check`) uses what is there and writes nothing; `fresh`
    (`build --no-cache`) reads nothing there, and replaces it with this build's entries.
    """

    def __init__(self, path: Path | None, *, read_only: bool = False, fresh: bool = False
                 ) -> None:
        self.path = path
        self.read_only = read_only
        self.fresh = fresh
        self._found: dict[str, bytes] = {}
        self._new: dict[str, object] = {}  # pickled when saved (unless it came as bytes)
        self._new_bytes = 0  # of those that came as bytes
        self._state: dict[str, str] = {}
        self._used: set[str] = set()
        self._order: list[str] = []  # keys `load` found, in the order asked for
        self._place: dict[str, int] = {}  # their places in `_order`, until taken
        self._read_parts: dict[str, StoredParts] = {}  # what `get_parts` read
        if path is not None and path.exists() and not fresh:
            try:
                with contextlib.closing(self._connect(path)) as db:
                    self._state = dict(db.execute("SELECT key, value FROM state").fetchall())
            except sqlite3.OperationalError:  # busy, or read-only: of no use this time
                pass
            except sqlite3.DatabaseError:  # damaged: else every later build would find so
                if not read_only:
                    for damaged in (path, Path(f"{path}-journal")):
                        damaged.unlink(missing_ok=True)

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("PRAGMA synchronous = OFF")  # a disposable cache: no fsyncs
        db.execute("CREATE TABLE IF NOT EXISTS notes (key TEXT PRIMARY KEY, data BLOB)")
        db.execute("CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT)")
        return db

    def load(self, keys: Iterable[str]) -> None:
        """Find which of these keys have entries; their bytes are read when taken, a few
        hundred at a time in this order, so a large vault's cache is never in memory whole.
        Entries put by this build count too (an update that gave up rendered some notes)."""
        wanted = list(dict.fromkeys(keys))
        self._used.update(wanted)
        if self.path is None:
            return
        if self._new and not self.read_only:
            with contextlib.suppress(sqlite3.Error, OSError):
                self._write_new()
        if not self.path.exists() or self.fresh:
            return
        present = {key for key, in self._select("key", wanted)}
        self._order = [key for key in wanted if key in present]
        self._place = {key: i for i, key in enumerate(self._order)}

    def keep(self, keys: Iterable[str]) -> None:
        """Keep the entries of these keys, not read this time (a note left as it was by an
        update in place: a later full build will want its cards)."""
        self._used.update(keys)

    def has(self, key: str) -> bool:
        """Whether `load` found an entry for this key (not yet taken with `get`)."""
        return key in self._place

    def get(self, key: str) -> Any | None:
        """The entry of a loaded key, once: the bytes are dropped, so they never sit in memory
        beside the cards made from them."""
        place = self._place.pop(key, None)
        if place is not None and key not in self._found:
            self._read([k for k in self._order[place : place + self._BATCH]
                        if k == key or k in self._place])
        data = self._found.pop(key, None)
        if data is None:
            return None
        try:
            return load_pickle(data)
        except Exception:  # an entry from an incompatible version, or not ours: render afresh
            return None

    def put(self, key: str, value: object) -> None:
        """Keep `value` (bytes are taken as its pickle, made by a worker process); written to
        the file in batches as the build goes, so the entries never pile up in memory."""
        if self.read_only:
            return
        self._used.add(key)
        self._new[key] = value
        self._new_bytes += len(value) if isinstance(value, bytes) else 0
        if ((len(self._new) >= self._BATCH or self._new_bytes >= 8 << 20)
                and self.path is not None):
            with contextlib.suppress(sqlite3.Error, OSError):
                self.path.parent.mkdir(parents=True, exist_ok=True)  # a first build's output
                self._write_new()

    def put_parts(self, key: str, head: object, items: Iterable[object], *,
                  changed: Iterable[int] | None = None) -> None:
        """A vault-sized value as `head` and its `items`, stored in parts (see `Parts`);
        `get_parts` reads it back. `changed`: the items are those `get_parts` read except at
        these places (an update of a few notes); the parts without one are kept as stored."""
        before = self._read_parts.get(key)
        same_places = (changed is not None and before is not None
                       and isinstance(items, Sized) and len(items) == before.size
                       and len(before.part_keys) == -(-before.size // Parts.SIZE))  # parts
        # as sized now
        parts = Parts(self, key, before if same_places else None,
                      frozenset(place // Parts.SIZE for place in changed or ()))
        for item in items:
            parts.add(item)
        parts.finish(head)

    def keep_parts(self, key: str, head: object) -> bool:
        """Store the value `get_parts` read under this key again, its items as they were and
        `head` new; False if none was read."""
        before = self._read_parts.get(key)
        if before is None:
            return False
        self.keep(before.part_keys)
        self.put(key, PartsHead(head, before))
        return True

    def get_parts(self, key: str) -> Stored | None:
        """(head, items) as `put_parts` stored them, or None if any part is missing."""
        self.load([key])
        found = self.get(key)
        if not (isinstance(found, PartsHead) and isinstance(found.parts, StoredParts)):
            return None
        self.load(found.parts.part_keys)
        items: list[Any] = []
        for part_key in found.parts.part_keys:
            part = self.get(part_key)
            if not isinstance(part, tuple):
                return None
            items += part
        if len(items) != found.parts.size:
            return None
        self._read_parts[key] = found.parts
        return Stored(found.head, items)

    def state(self, key: str) -> str | None:
        return self._state.get(key)

    def set_state(self, key: str, value: str) -> None:
        self._state[key] = value

    def save(self) -> None:
        """Write this build's new entries and state; drop entries no note used this time, so
        the cache never outgrows the vault. Failing to save only costs speed next time."""
        if self.path is None or self.read_only:
            return
        with contextlib.suppress(sqlite3.Error, OSError):
            self._write_new()
            with contextlib.closing(self._connect(self.path)) as db:
                db.execute("BEGIN")
                stale = [(key,) for key, in db.execute("SELECT key FROM notes")  # the keys'
                         if key not in self._used]  # index alone is read: few rows go
                db.executemany("DELETE FROM notes WHERE key = ?", stale)
                db.execute("DELETE FROM state")
                db.executemany("INSERT INTO state VALUES (?, ?)", self._state.items())
                db.execute("COMMIT")

    _BATCH = 200  # entries written, or read, at a time

    def _read(self, keys: list[str]) -> None:
        self._found.update(self._select("key, data", keys))

    def _select(self, columns: str, keys: list[str]) -> list[Any]:
        """These columns of the entries of these keys, looked up by primary key 500 at a time;
        what could be read, if the file cannot (a disposable cache: then a full render)."""
        assert self.path is not None
        rows: list[Any] = []
        with (contextlib.suppress(sqlite3.Error),
              contextlib.closing(self._connect(self.path)) as db):
            for i in range(0, len(keys), 500):
                chunk = keys[i : i + 500]
                marks = ",".join("?" * len(chunk))
                rows += db.execute(f"SELECT {columns} FROM notes WHERE key IN ({marks})", chunk)
        return rows

    def _write_new(self) -> None:
        assert self.path is not None
        with contextlib.closing(self._connect(self.path)) as db:
            db.execute("BEGIN")
            db.executemany("INSERT OR REPLACE INTO notes VALUES (?, ?)",
                           ((key, value if isinstance(value, bytes) else
                             pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
                            for key, value in self._new.items()))
            db.execute("COMMIT")
        self._new.clear()
        self._new_bytes = 0


class Parts:
    """A vault-sized value's items, each part of `SIZE` pickled and stored as it fills: one
    pickle of them all would hold, at the build's end, its bytes twice and a memo of every
    object in them (70 MB at 20,000 notes), and a build that makes them one by one need not
    hold them at all. Each part is stored under a digest of its pickle and the head, stored
    last (`finish`), lists them: a build that stops midway leaves a value that reads as
    missing, never a mix of two builds' parts. Given the parts the value had when read
    (`stored`), a part at none of the `touched` places is kept as stored."""

    SIZE = 500  # an update stores again only the parts with a changed item: small enough
    # that one edit does not pickle a large vault's layout anew

    def __init__(self, cache: RenderCache, key: str, stored: StoredParts | None = None,
                 touched: frozenset[int] = frozenset()) -> None:
        self.cache, self.key, self.stored, self.touched = cache, key, stored, touched
        self.part_keys: list[str] = []
        self.items: list[object] = []
        self.count = 0

    def add(self, item: object) -> None:
        self.items.append(item)
        self.count += 1
        if len(self.items) == self.SIZE:
            self._store()

    def finish(self, head: object) -> None:
        if self.items:
            self._store()
        self.cache.put(self.key, PartsHead(head, StoredParts(tuple(self.part_keys), self.count)))

    def _store(self) -> None:
        n = len(self.part_keys)
        if self.stored is not None and n not in self.touched:
            self.part_keys.append(self.stored.part_keys[n])
            self.cache.keep([self.stored.part_keys[n]])
        else:
            data = pickle.dumps(tuple(self.items), protocol=pickle.HIGHEST_PROTOCOL)
            self.part_keys.append(f"{self.key}/{hashlib.sha256(data).hexdigest()[:32]}")
            self.cache.put(self.part_keys[-1], data)
        self.items = []
