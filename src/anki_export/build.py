"""The pipeline, in order: discover → read + frontmatter → sections → cards → ids → package.

Like mkdocs' `build()`, one readable function calls each step; the steps return diagnostics
instead of printing, and nothing is written unless the whole build succeeded, so a failed
build never touches the package already in the output folder.
"""

from __future__ import annotations

import gc
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Literal

from . import plan
from .buildlock import hold_output
from .cache import CACHE_NAME, Parts, RenderCache
from .config import Config, package_stem
from .errors import BuildFailed, Diagnostic, Level, OutputError
from .files import bytes_digest, file_digest, file_stamp, map_file
from .ids import media_name
from .plan import MANIFEST_KEY, Basis, BuildPlan, LastBuild
from .vault import VaultIndex, scan_vault, stat_files, with_plugin_settings

if TYPE_CHECKING:
    from .cards import Card
    from .collect import NoteCards, NoteSummary, Progress
    from .layout import KeptPackage, Layout, NoteLayout
    from .manifest import Changes, Entry, Manifest, Release
    from .notes import Vault
    from .package import PackageNote, PackageWriter
    from .parse import Note
    from .render import LinkTargets

LAYOUT_KEY = "layout"  # the last build's layout (layout.py), in the render cache, in parts
CACHE_DAMAGED = "cache-damaged"  # a warning said once, by the build that found the damage


@dataclass(frozen=True, slots=True)
class BuildResult:
    """What a build did, for the command to report (and tests to check)."""

    packages: tuple[Path, ...]  # empty when nothing was written (`check`, or no cards)
    notes: tuple[NoteSummary, ...]  # every note in the build, in path order
    notes_left_out: int  # not published (`dg-publish`), or `anki: false`
    cards: int  # Anki cards: one per basic note, one per cloze number of a cloze note
    decks: int
    changes: Changes | None  # against the previous build's manifest; None when nothing written
    diagnostics: tuple[Diagnostic, ...]
    plan: BuildPlan | None = None  # what it reused, and why (plan.py)
    notes_read: int | None = None  # when `notes` is not known (an up-to-date build)

    @property
    def up_to_date(self) -> bool:
        """Nothing changed since the last build: nothing was rewritten."""
        return self.plan is not None and self.plan.kind == "up to date"

    @property
    def updated_in_place(self) -> bool:
        """Only some notes changed: the last build's packages were updated (layout.py)."""
        return self.plan is not None and self.plan.kind == "update in place"

    @property
    def notes_without_cards(self) -> int:
        return sum(1 for n in self.notes if not n.cards)

    @property
    def note_count(self) -> int:
        return self.notes_read if self.notes_read is not None else len(self.notes)


def build(config: Config, *, write: bool = True, now: int | None = None,
          progress: Progress | None = None, wait: bool = True,
          on_wait: Callable[[], None] = lambda: None, fresh: bool = False) -> BuildResult:
    """Build the vault into its package(s); raise `BuildFailed` listing every problem found.

    What it reuses of the last build is planned in plan.py (`BuildResult.plan` says what and
    why): nothing to do, an update in place of the last build's packages (layout.py), or a
    full build taking unchanged notes' cards from the render cache. `fresh` (`--no-cache`)
    reads nothing of the cache or the kept collections. A build holds its output folder's
    lock throughout (buildlock.py): another build of the folder running, it waits for it
    (`on_wait` says so), or with `wait` False fails. `check` (`write` False) writes nothing,
    and takes no lock.
    """
    with _no_cycle_collection():
        if not write:
            return _build(config, write, now, progress, fresh)
        with hold_output(config.output, config.output / CACHE_NAME, config.manifest_path,
                         wait=wait, on_wait=on_wait):
            return _build(config, write, now, progress, fresh)


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Python's cycle collector off for the build (and its workers, which fork from it).

    A build makes and frees millions of objects, all by reference counting; the collector
    would only walk the growing heap (most of all while the cache's pickles load), more often
    and longer the larger the vault, and find nothing.

    Process-wide (README, "Process-wide tricks"). What must stay true: the build makes no
    reference cycle it needs freed before it ends (an exception kept with its traceback, a
    closure holding its own frame, an object pointing back at its owner), or its memory
    grows with the vault; and the collector is on again once the build returns, for a
    library caller."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _build(config: Config, write: bool, now: int | None, progress: Progress | None,
           fresh: bool) -> BuildResult:
    config, sr_problems = with_plugin_settings(config)
    index, scan_problems = scan_vault(config.vault, _own_files(config))
    scan_problems += sr_problems
    cache = RenderCache(_cache_file(config), read_only=not write, fresh=fresh)
    stats = stat_files(index)
    stamp = now if now is not None else _build_time()
    manifest_bytes = map_file(config.manifest_path)  # read once: digest, then entries
    manifest_digest = bytes_digest(manifest_bytes)
    state = plan.vault_state(index, stats, scan_problems, cache, write=write)
    current = (plan.up_to_date(cache, state.fingerprint(config, manifest_digest, now=False),
                               stamp) if write else "check writes nothing")
    if isinstance(current, plan.BuildPlan):
        assert current.last is not None
        return _reported(current.last, current)
    from .manifest import read_manifest
    from .notes import load_vault
    from .render import LinkTargets

    previous = read_manifest(config.manifest_path, plan.written_manifest(cache, manifest_digest),
                             data=manifest_bytes)
    vault = load_vault(index, config, scan_problems, cache, previous.owners, stats)
    run = _Run(config, vault, LinkTargets(index, {n.rel: n for n in vault.notes},
                                          config.site_url),
               previous, stamp, cache, progress)
    run.keys = plan.render_keys(vault, config, run.pins)
    run.links = plan.links_context(vault)
    run.other_files = state.other_files(index, now=True)
    run.manifest_digest = manifest_digest
    decided = plan.plan_build(
        vault, run.keys, run.last_layout(), plan.basis(config, manifest_digest, run.links,
                                                       state.other_files(index, now=False)),
        cache, why_not_current=current, can_update=write and stats is not None, fresh=fresh)
    try:
        result = None
        if decided.kind == "update in place":
            try:
                result = run.update(decided)
            except _GaveUp as e:
                decided = plan.full_build(vault, run.keys, run.last_layout(), cache,
                                          f"an update in place was planned, but {e.reason}")
        if result is None:
            result = run.full(decided, write)
        if result.packages:
            plan.remember(cache, state, state.fingerprint(config, run.manifest_digest, now=True),
                          _last_build(result), run.release.manifest().expiry())
        return result
    finally:
        cache.save()  # also after a failed build: the notes it rendered need no render again


def _reported(last: LastBuild, decided: BuildPlan) -> BuildResult:
    """An up-to-date build's result: the last build's, said again."""
    return BuildResult(packages=last.packages, notes=(), notes_left_out=last.notes_left_out,
                       cards=last.cards, decks=last.decks, changes=None,
                       diagnostics=last.diagnostics, plan=decided, notes_read=last.notes)


def _last_build(result: BuildResult) -> LastBuild:
    """What the next build reports again if it is up to date: counts, packages and the same
    warnings (not those about the cache, said once)."""
    return LastBuild(result.packages, tuple(file_stamp(p) for p in result.packages),
                     len(result.notes), result.notes_left_out, result.cards, result.decks,
                     tuple(d for d in result.diagnostics if d.code != CACHE_DAMAGED))


class _GaveUp(Exception):
    """An update in place found it cannot be one (another card than last time, …): the full
    build takes over, its plan saying why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Run:
    """One build's state: the full build streams every note's cards into new packages; an
    update (layout.py) ships only the changed notes' cards into the kept ones."""

    def __init__(self, config: Config, vault: Vault, targets: LinkTargets, previous: Manifest,
                 stamp: int, cache: RenderCache, progress: Progress | None) -> None:
        from .cards import Pins

        self.config, self.vault, self.targets, self.previous = config, vault, targets, previous
        self.stamp, self.cache, self.progress = stamp, cache, progress
        self.pins = Pins(previous.pins())
        self.media = _media_digests(vault.index)
        self.release: Release  # made by `full` or `update`, whichever ships the cards
        self.keys = plan.RenderKeys("", ())
        self.other_files = ""  # `VaultState.other_files`: the files that are not notes
        self.manifest_digest = ""  # of the manifest as read, then as written
        self.links = ""  # `plan.links_context`: what links can see of the vault
        self._layout: Layout | Literal[False] | None = False  # not read yet
        self.notices: list[Diagnostic] = []  # about the cache, for the full build to report

    def _release(self) -> Release:
        from .manifest import Release

        return Release(self.previous, self.stamp, self.vault.unreadable, self.media)

    def _cards(self, decided: BuildPlan) -> Iterator[tuple[Note, NoteCards]]:
        from .collect import cards_by_note

        return cards_by_note(self.vault, self.config, self.targets, self.pins,
                             keys=self.keys.notes, render=decided.render,
                             only=decided.update if decided.kind == "update in place" else None,
                             cache=self.cache, progress=self.progress)

    def full(self, decided: BuildPlan, write: bool) -> BuildResult:
        from .cards import repeated_questions
        from .layout import Layout, card_slots, note_layout, summary

        config = self.config
        self.release = release = self._release()  # afresh, where an update gave up
        packages = _Packages(config, self.vault.index)
        self._layout = None  # of no use now: its notes go
        problems = [*self.vault.diagnostics, *self.notices]
        layouts = Parts(self.cache, LAYOUT_KEY)  # stored a part at a time as notes come
        tally = _Tally()
        questions: dict[int, tuple[str, int]] = {}  # see `repeated_questions`
        try:
            for key, (note, (cards, card_problems)) in zip(self.keys.notes,
                                                         self._cards(decided), strict=True):
                card_problems = (*card_problems, *repeated_questions(cards, questions))
                problems += card_problems
                shipped, note_ids = [], []
                for card in cards:
                    first = release.entries.get(card.guid)  # shipped already by this build
                    if first is not None:
                        problems.append(_shared_id(card, first))
                    shipped.append(release.ship(card))
                    note_ids.append(packages.add(shipped[-1], card.media)
                                    if write and first is None else 0)
                layout = note_layout(key, self.vault.digests[note.rel], note, card_problems,
                                     card_slots(shipped, [c.media for c in cards], note_ids))
                tally.add(summary(note, layout), layout)
                if write:
                    layouts.add(layout)
            diagnostics = tuple(sorted(problems, key=lambda d: d.sort_key))
            _fail_on(diagnostics, config)
            changes = None
            tombstones: frozenset[str] = frozenset()
            if write and (any(n.cards for n in tally.notes) or self.previous.notes):
                retired = release.retired()  # the last note unpublished: retire every card
                for tombstone in retired:
                    packages.add(tombstone, ())
                tombstones = frozenset(t.guid for t in retired)
                self._finish(packages)
                changes = release.changes()
            if packages.written:
                layouts.finish(Layout(self._basis(), self.keys.context, (), tombstones,
                                      packages.kept()))
            return self._result(packages.written, tally, diagnostics, changes, decided)
        finally:
            packages.abort()  # a failed build leaves the packages in the output folder as they were

    def update(self, decided: BuildPlan) -> BuildResult:
        """The build as an update of the last one's packages, as planned; `_GaveUp` where
        the changed notes give other cards than last time, a section was removed or one's
        time ran out, or the kept collection is damaged: then the full build."""
        from .layout import card_slots, note_layout

        self.release = self._release()
        layout = self.last_layout()
        assert layout is not None
        changed = decided.update
        self.cache.keep(self.keys.notes)  # the unchanged notes' cards: a full build wants them
        packages = _Packages(self.config, self.vault.index, layout.packages)
        notes = list(layout.notes)
        facts = self.previous.stored_facts()  # unchanged if the changed cards' are
        try:
            for i, (note, (cards, card_problems)) in zip(changed, self._cards(decided),
                                                         strict=True):
                shipped = [self.release.ship(card) for card in cards]
                before = notes[i].cards
                if len(shipped) != len(before) or before != card_slots(
                        shipped, [c.media for c in cards], [slot.note_id for slot in before]):
                    raise _GaveUp(f"{note.rel.as_posix()} now gives other cards than last time")
                facts = plan.facts_if_unchanged(facts, cards)
                notes[i] = note_layout(self.keys.notes[i], self.vault.digests[note.rel], note,
                                       card_problems, before)
                for package_note, slot in zip(shipped, before, strict=True):
                    if package_note.mod != self.previous.notes[package_note.guid].mod:
                        packages.update(package_note, slot.note_id)
            changed_ones = set(changed)
            self.release.keep(slot.guid for i, unchanged in enumerate(layout.notes)
                              if i not in changed_ones for slot in unchanged.cards)
            if {n.guid for n in self.release.retired()} != layout.tombstones:
                raise _GaveUp("a section was removed, or a removed one's 30 days ran out")
            diagnostics = tuple(sorted((*self.vault.diagnostics,
                                        *(d for n in notes for d in n.problems)),
                                       key=lambda d: d.sort_key))
            _fail_on(diagnostics, self.config)
            self._finish(packages, facts is not None)
            self.cache.put_parts(LAYOUT_KEY, replace(layout, basis=self._basis(),
                                                     context=self.keys.context, notes=(),
                                                     packages=packages.kept()), notes,
                                 changed=changed)
            return self._result(packages.written, _Tally.of(self.vault.notes, notes),
                                diagnostics, self.release.changes(), decided)
        except _KeptDamaged as e:  # the full build then writes a collection anew
            packages.abort()
            for path in (e.collection, Path(f"{e.collection}-journal")):
                path.unlink(missing_ok=True)
            self.notices.append(Diagnostic(
                None, None, Level.WARNING, CACHE_DAMAGED,
                f"the collection kept to update {e.package} in place ({e.collection}) was "
                "damaged; it was removed and the package built afresh"))
            raise _GaveUp(f"the collection kept beside {e.package.name} was damaged") from e
        finally:
            packages.abort()

    def last_layout(self) -> Layout | None:
        """The last build's layout, read once (the cache hands each entry out once)."""
        from .layout import Layout

        if self._layout is False:
            found = self.cache.get_parts(LAYOUT_KEY)
            self._layout = (replace(found.head, notes=tuple(found.items))
                            if found and isinstance(found.head, Layout) else None)
        return self._layout

    def _basis(self) -> Basis:
        """The basis of what this build wrote, for the next build's update."""
        return plan.basis(self.config, self.manifest_digest, self.links, self.other_files)

    def _finish(self, packages: _Packages, same_facts: bool = False) -> None:
        """Write the packages and then the manifest, which replaces the old one only once
        every package is in place. `same_facts`: the manifest's facts are those the cache
        holds (an update that changed no card's key): they stay as stored."""
        from .manifest import manifest_facts, write_manifest

        _make_folder(self.config.output)
        # One after the other, not the packages on a thread beside the manifest's writing:
        # each of SQLite's calls would wait for the GIL the manifest's encoding holds, and
        # the two take longer together than in turn.
        self.manifest_digest = write_manifest(self.config.manifest_path,
                                              self.release.manifest(), packages.close)
        if not (same_facts and self.cache.keep_parts(MANIFEST_KEY, self.manifest_digest)):
            self.cache.put_parts(MANIFEST_KEY, self.manifest_digest,
                                 manifest_facts(self.release.manifest()))

    def _result(self, packages: tuple[Path, ...], tally: _Tally,
                diagnostics: tuple[Diagnostic, ...], changes: Changes | None,
                decided: BuildPlan) -> BuildResult:
        return BuildResult(
            packages=packages,
            notes=tuple(tally.notes),
            notes_left_out=self.vault.left_out,
            cards=tally.cards,
            decks=len(tally.decks),
            changes=changes,
            diagnostics=diagnostics,
            plan=decided,
        )


@dataclass
class _Tally:
    """What a build reports of its notes' layouts, counted as they come: the full build does
    not keep them (they go to the cache a part at a time)."""

    notes: list[NoteSummary] = field(default_factory=list)
    cards: int = 0  # Anki cards: a cloze note has one per cloze number
    decks: set[str] = field(default_factory=set)

    def add(self, summary: NoteSummary, layout: NoteLayout) -> None:
        self.notes.append(summary)
        self.cards += sum(len(slot.ords) for slot in layout.cards)
        self.decks.update(slot.deck for slot in layout.cards)

    @classmethod
    def of(cls, notes: Sequence[Note], layouts: Sequence[NoteLayout]) -> _Tally:
        from .layout import summary

        tally = cls()
        for note, layout in zip(notes, layouts, strict=True):
            tally.add(summary(note, layout), layout)
        return tally


def _own_files(config: Config) -> Callable[[str], bool]:
    """Whether a file of the vault (a vault-relative POSIX path) is the build's own output:
    its manifest, anything in its output folder (its packages, where the output folder is
    the vault itself), where they lie inside the vault: else every build would find them
    changed since the last, and build in full."""
    root = config.vault.resolve()

    def inside(path: Path) -> str | None:
        try:
            return path.resolve().relative_to(root).as_posix()
        except (ValueError, OSError):
            return None

    output, manifest = inside(config.output), inside(config.manifest_path)

    def own(name: str) -> bool:
        if name == manifest:
            return True
        if output == ".":
            return "/" not in name and name.endswith(".apkg")
        return output is not None and name.startswith(f"{output}/")
    return own


def _cache_file(config: Config) -> Path:
    """The render cache, in the cache folder beside the package (the kept collections of
    layout.py and the build's lock are there too)."""
    return config.output / CACHE_NAME / "render.sqlite"


def _shared_id(card: Card, first: Entry) -> Diagnostic:
    """Two sections that would get one GUID (a pin moved onto another heading's card, say):
    an error naming both, where Anki would otherwise merge them."""
    return Diagnostic(Path(card.source), card.line, Level.ERROR, "shared-id",
                      f"this section would get the same card ID as {first.key} "
                      f"({first.source}); reword one of the two headings, or give one a block "
                      "id of its own")


class _Packages:
    """The build's packages, one (or with `split`, one per top-level deck, named after it),
    each opened as its first note comes. None replaces its file before `close`. Given the
    last build's `kept` packages (an update in place), it updates their collections instead."""

    def __init__(self, config: Config, index: VaultIndex,
                 kept: Mapping[str, KeptPackage] | None = None) -> None:
        self.config, self.index = config, index
        self.base = kept  # updated in place
        self.writers: dict[Path, PackageWriter] = {}
        self.by_top: dict[str, PackageWriter] = {}  # by top-level deck ("" without `split`)
        self.written: tuple[Path, ...] = ()

    def _top(self, deck: str) -> str:
        return deck.split("::")[0] if self.config.split else ""

    def add(self, note: PackageNote, media: Sequence[PurePosixPath]) -> int:
        writer = self._writer(self._top(note.deck))
        with _output_errors(writer.path):
            return writer.add(note, {media_name(rel): self.index.root / rel for rel in media}
                              if media else None)

    def update(self, note: PackageNote, note_id: int) -> None:
        writer = self._writer(self._top(note.deck))
        with _output_errors(writer.path, writer.collection):
            writer.update(note, note_id)

    def _writer(self, top: str) -> PackageWriter:
        found = self.by_top.get(top)
        return found if found is not None else self._open(top)

    def _open(self, top: str) -> PackageWriter:
        from .layout import kept_collection
        from .package import PackageWriter

        base = self.base[top] if self.base is not None else None
        path = (base.path if base is not None else self.config.output / f"{package_stem(top)}.apkg"
                if top else self.config.package_path)
        if path not in self.writers:  # two top decks may share a file name (`A:B`, `A/B`)
            with _output_errors(path, base.collection if base is not None else None):
                writer = PackageWriter(  # a base is updated where it is: nothing to keep
                    path, keep=kept_collection(self.config, path) if base is None else None,
                    base=base.collection if base is not None else None,
                    work_in=self.config.output / CACHE_NAME)
                if base is not None:
                    writer.add_media({name: Path(file) for name, file in base.media.items()})
                self.writers[path] = writer
        self.by_top[top] = self.writers[path]
        return self.writers[path]

    def close(self) -> None:
        for path in sorted(self.writers):
            writer = self.writers[path]
            with _output_errors(path, writer.collection if self.base is not None else None):
                writer.close()
        if self.base is not None:  # an update: the packages without a change stay as they are
            self.written = tuple(sorted({p.path for p in self.base.values()}))
        else:
            self.written = tuple(sorted(self.writers))

    def kept(self) -> dict[str, KeptPackage]:
        """Each top deck's package once written, with the collection it keeps for an update."""
        from .layout import kept_package

        found = dict(self.base or {})
        for top, writer in self.by_top.items():
            assert writer.collection is not None
            found[top] = kept_package(writer.path, writer.collection, writer.media,
                                      writer.written)
        return found

    def abort(self) -> None:
        for writer in self.writers.values():
            writer.abort()


class _KeptDamaged(Exception):
    """The collection an update in place changes cannot be read as the last build left it
    (damaged by a crash of the disk, or by hand): the update gives way to the full build."""

    def __init__(self, package: Path, collection: Path) -> None:
        super().__init__(collection)
        self.package, self.collection = package, collection


@contextmanager
def _output_errors(path: Path, kept: Path | None = None) -> Iterator[None]:
    """Errors writing the package at `path` as the user's to fix; but with `kept`, the
    collection an update changes, an unreadable one is the cache's (`_KeptDamaged`)."""
    try:
        yield
    except (sqlite3.DatabaseError, ValueError) as e:
        if kept is not None and not isinstance(e, sqlite3.OperationalError):
            raise _KeptDamaged(path, kept) from e  # not a full disk: a damaged collection
        if isinstance(e, ValueError):
            raise
        raise _output_error(path, e) from e
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
                seen[rel] = file_digest(index.root / rel)
        return " ".join(seen[rel] for rel in card.media)

    return digest


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



