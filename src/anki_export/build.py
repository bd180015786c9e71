"""The pipeline, in order: discover → read + frontmatter → sections → cards → ids → package.

Like mkdocs' `build()`, one readable function calls each step; the steps return diagnostics
instead of printing, and nothing is written unless the whole build succeeded, so a failed
build never touches the package already in the output folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from .cache import CACHE_NAME, RenderCache, code_digest, digest_of
from .config import Config, file_stem
from .errors import BuildFailed, Diagnostic, Level, OutputError
from .ids import media_name
from .vault import VaultIndex, scan_vault

if TYPE_CHECKING:
    from .cards import Card
    from .collect import NoteSummary, Progress
    from .manifest import Changes
    from .package import PackageNote, PackageWriter


@dataclass(frozen=True, slots=True)
class BuildResult:
    packages: tuple[Path, ...]  # empty when nothing was written (`check`, or no cards)
    notes: tuple[NoteSummary, ...]  # every note in the build, in path order
    notes_left_out: int  # not published (`dg-publish`), or `anki: false`
    cards: int  # Anki cards: one per basic note, one per cloze number of a cloze note
    decks: int
    changes: Changes | None  # against the previous build's manifest; None when nothing written
    diagnostics: tuple[Diagnostic, ...]
    up_to_date: bool = False  # nothing changed since the last build: nothing was rewritten
    notes_read: int | None = None  # when `notes` is not known (an up-to-date build)

    @property
    def notes_without_cards(self) -> int:
        return sum(1 for n in self.notes if not n.cards)

    @property
    def note_count(self) -> int:
        return self.notes_read if self.notes_read is not None else len(self.notes)


def build(config: Config, *, write: bool = True, now: int | None = None,
          progress: Progress | None = None) -> BuildResult:
    """Build the vault into its package(s); raise `BuildFailed` listing every problem found.

    When nothing changed since the last build, it returns before loading the parser at all."""
    index, scan_problems = scan_vault(config.vault)
    cache = RenderCache(config.output / CACHE_NAME, read_only=not write)
    stats = _file_stats(index)
    stamp = now if now is not None else _build_time()
    if write and (current := _up_to_date(cache, _fingerprint(stats, config), stamp)):
        return current
    from .collect import NoteSummary, cards_by_note
    from .manifest import Release, read_manifest, write_manifest
    from .notes import load_vault
    from .package import card_ords
    from .render import LinkTargets

    previous = read_manifest(config.manifest_path)
    vault = load_vault(index, config, scan_problems, cache, previous.owners())
    targets = LinkTargets(index, {n.rel: n for n in vault.notes}, config.site_url)
    release = Release(previous, stamp, vault.unreadable, _media_digests(index))
    packages = _Packages(config, index)
    summaries: list[NoteSummary] = []
    problems = list(vault.diagnostics)
    first_of_guid: dict[str, tuple[PurePosixPath, int]] = {}
    notes_in_anki = cards_in_anki = 0
    decks: set[str] = set()
    try:
        for note, (cards, card_problems) in cards_by_note(
                vault, config, targets, previous.pins(), cache=cache, progress=progress):
            summaries.append(NoteSummary(note.rel, note.title, len(cards), note.skipped))
            problems += card_problems
            for card in cards:
                problems += _shared_id(card, first_of_guid)
                notes_in_anki += 1
                cards_in_anki += len(card_ords(card.notetype, card.fields))
                decks.add(card.deck)
                if write:
                    packages.add(release.ship(card), card.media)
        diagnostics = tuple(sorted(problems, key=lambda d: d.sort_key))
        _fail_on(diagnostics, config)
        changes = None
        if write and (notes_in_anki or previous.notes):  # the last note unpublished: retire
            for retired in release.retired():
                packages.add(retired, ())
            _make_folder(config.output)
            with ThreadPoolExecutor(1) as thread:  # zlib and SQLite let go of the GIL: the
                closing = thread.submit(packages.close)  # manifest is written meanwhile
                write_manifest(config.manifest_path, release.manifest(), closing.result)
            changes = release.changes()
        result = BuildResult(
            packages=packages.written,
            notes=tuple(summaries),
            notes_left_out=vault.left_out,
            cards=cards_in_anki,
            decks=len(decks),
            changes=changes,
            diagnostics=diagnostics,
        )
        if packages.written:
            cache.set_state("fingerprint", _fingerprint(stats, config))
            cache.set_state("result", _result_json(result))
            cache.set_state("expires", str(release.manifest().expiry() or ""))
        return result
    finally:
        packages.abort()  # a failed build leaves the packages in the output folder as they were
        cache.save()  # also after a failed build: the notes it rendered need no render again


def _shared_id(card: Card, first_of_guid: dict[str, tuple[PurePosixPath, int]]
               ) -> list[Diagnostic]:
    """Two sections that would get one GUID (a pin moved onto another heading's card, say):
    an error naming both, where Anki would otherwise merge them."""
    source, line = first_of_guid.setdefault(card.guid, (card.source, card.line))
    if (source, line) == (card.source, card.line):
        return []
    return [Diagnostic(Path(card.source), card.line, Level.ERROR, "shared-id",
                       f"this section would get the same card ID as {source}:{line}; reword "
                       "one of the two headings, or give one a block id of its own")]


class _Packages:
    """The build's packages, one (or with `split`, one per top-level deck, named after it),
    each opened as its first note comes. None replaces its file before `close`."""

    def __init__(self, config: Config, index: VaultIndex) -> None:
        self.config, self.index = config, index
        self.writers: dict[Path, PackageWriter] = {}
        self.by_top: dict[str, PackageWriter] = {}  # by top-level deck ("" without `split`)
        self.written: tuple[Path, ...] = ()

    def add(self, note: PackageNote, media: Sequence[PurePosixPath]) -> None:
        top = note.deck.split("::")[0] if self.config.split else ""
        writer = self.by_top.get(top) or self._open(top)
        try:
            writer.add(note, {media_name(rel): self.index.root / rel for rel in media}
                       if media else None)
        except (OSError, sqlite3.Error) as e:
            raise _output_error(writer.path, e) from e

    def _open(self, top: str) -> PackageWriter:
        from .package import PackageWriter

        path = self.config.output / f"{file_stem(top)}.apkg" if top else self.config.package_path
        if path not in self.writers:  # two top decks may share a file name (`A:B`, `A/B`)
            with _output_errors(path):
                self.writers[path] = PackageWriter(path)
        self.by_top[top] = self.writers[path]
        return self.writers[path]

    def close(self) -> None:
        for path in sorted(self.writers):
            with _output_errors(path):
                self.writers[path].close()
        self.written = tuple(sorted(self.writers))

    def abort(self) -> None:
        for writer in self.writers.values():
            writer.abort()


@contextmanager
def _output_errors(path: Path) -> Iterator[None]:
    try:
        yield
    except (OSError, sqlite3.Error) as e:
        raise _output_error(path, e) from e


def _output_error(path: Path, error: OSError | sqlite3.Error) -> OutputError:
    reason = error.strerror if isinstance(error, OSError) and error.strerror else error
    return OutputError(f"cannot write the package ({reason}); check that the output folder is "
                       "writable and the disk has room", path=path)


def _media_digests(index: VaultIndex) -> Callable[[Card], str]:
    """A card's media files, by content (each file read once)."""
    seen: dict[PurePosixPath, str] = {}

    def digest(card: Card) -> str:
        for rel in card.media:
            if rel not in seen:
                try:
                    seen[rel] = hashlib.sha256((index.root / rel).read_bytes()).hexdigest()
                except OSError:
                    seen[rel] = ""
        return " ".join(seen[rel] for rel in card.media)

    return digest


def _file_stats(index: VaultIndex) -> tuple[str, ...] | None:
    """Name, size and modification time of every file; None if one cannot be read."""
    stats = []
    for rel in index.files:
        try:
            st = (index.root / rel).stat()
        except OSError:
            return None
        stats.append(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}")
    return tuple(stats)


def _fingerprint(stats: tuple[str, ...] | None, config: Config) -> str:
    """Cheap: the files' stats, the settings, the manifest and the code. Equal to the last
    successful build's, the package is current. A file that cannot be read never is."""
    if stats is None:
        return ""
    try:
        manifest = config.manifest_path.read_bytes()
    except OSError:
        manifest = b""
    return digest_of((code_digest(), repr(config), hashlib.sha256(manifest).hexdigest(),
                      os.environ.get("SOURCE_DATE_EPOCH", ""), *stats))


def _up_to_date(cache: RenderCache, fingerprint: str, now: int) -> BuildResult | None:
    """The last build's result when nothing changed since and its packages are still there,
    and no removed section's 30 days ran out meanwhile (then it must stop being shipped)."""
    if not fingerprint or cache.state("fingerprint") != fingerprint:
        return None
    expires = cache.state("expires")
    if expires and now >= int(expires):
        return None
    saved = json.loads(cache.state("result") or "null")
    if not saved or not all(Path(p).exists() for p in saved["packages"]):
        return None
    diagnostics = tuple(Diagnostic(Path(d[0]) if d[0] else None, d[1], Level(d[2]), d[3], d[4])
                        for d in saved["diagnostics"])
    return BuildResult(packages=tuple(Path(p) for p in saved["packages"]), notes=(),
                       notes_left_out=saved["left_out"], cards=saved["cards"],
                       decks=saved["decks"], changes=None, diagnostics=diagnostics,
                       up_to_date=True, notes_read=saved["notes"])


def _result_json(result: BuildResult) -> str:
    """What an up-to-date build reports again: counts, packages and the same warnings."""
    return json.dumps({
        "packages": [str(p) for p in result.packages], "cards": result.cards,
        "decks": result.decks, "left_out": result.notes_left_out, "notes": len(result.notes),
        "diagnostics": [(d.path.as_posix() if d.path else None, d.line, d.level.value, d.code,
                         d.message) for d in result.diagnostics]})


def _fail_on(diagnostics: tuple[Diagnostic, ...], config: Config) -> None:
    fatal = {Level.ERROR, Level.WARNING} if config.strict else {Level.ERROR}
    if any(d.level in fatal for d in diagnostics):
        raise BuildFailed(diagnostics)


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"cannot create the output folder ({e.strerror}); choose another "
                          "with -o", path=folder) from e


def _build_time() -> int:
    """`SOURCE_DATE_EPOCH` (reproducible-builds.org) when set, else the clock."""
    value = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    return int(value) if value.isdigit() else int(time.time())



