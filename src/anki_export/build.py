"""The pipeline, in order: discover → read + frontmatter → sections → cards → ids → package.

Like mkdocs' `build()`, one readable function calls each step; the steps return diagnostics
instead of printing, and nothing is written unless the whole build succeeded, so a failed
build never touches the package already in the output folder.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .cards import Card, CardSettings, note_cards
from .config import Config, file_stem
from .errors import BuildFailed, Diagnostic, Level, NotANote, NoteError, OutputError
from .ids import media_name
from .manifest import Changes, plan_release, read_manifest, write_manifest
from .notetypes import REVISION
from .package import PackageNote, write_package
from .parse import HeadingRules, Note, parse_note
from .render import LinkTargets
from .vault import VaultIndex, read_note, scan_vault


@dataclass(frozen=True, slots=True)
class NoteSummary:
    path: PurePosixPath
    title: str
    cards: int
    skipped: tuple[str, ...]  # sections that matched the rules but gave no card, and why


@dataclass(frozen=True, slots=True)
class BuildResult:
    packages: tuple[Path, ...]  # empty when nothing was written (`check`, or no cards)
    notes: tuple[NoteSummary, ...]  # every note in the build, in path order
    notes_left_out: int  # not published (`dg-publish`), or `anki: false`
    cards: int
    decks: int
    changes: Changes | None  # against the previous build's manifest; None when nothing written
    diagnostics: tuple[Diagnostic, ...]

    @property
    def notes_without_cards(self) -> int:
        return sum(1 for n in self.notes if not n.cards)


Progress = Callable[[int, int], None]
"""Called with (notes done, notes in all) as the build renders, for a progress bar."""


def build(config: Config, *, write: bool = True, now: int | None = None,
          progress: Progress | None = None) -> BuildResult:
    """Build the vault into its package(s); raise `BuildFailed` listing every problem found."""
    index, diagnostics = scan_vault(config.vault)
    notes, left_out, read_problems = read_notes(index, config)
    diagnostics += read_problems
    unreadable = frozenset(d.path.as_posix() for d in read_problems
                           if d.code == "bad-note" and d.path is not None)
    identities, id_problems = assign_identities(notes)
    diagnostics += id_problems
    previous = read_manifest(config.manifest_path)
    pins = previous.pins()
    settings = CardSettings(config.question_format, config.root_deck, config.tags,
                            config.folder_tags)
    targets = LinkTargets(index, {note.rel: note for note in notes}, config.site_url)
    cards: list[Card] = []
    summaries: list[NoteSummary] = []
    for done, note in enumerate(notes, 1):
        note_result, problems = note_cards(note, identities[note.rel], settings, targets, pins)
        cards += note_result
        diagnostics += problems
        summaries.append(NoteSummary(note.rel, note.title, len(note_result), note.skipped))
        if progress is not None:
            progress(done, len(notes))
    diagnostics = tuple(sorted(diagnostics, key=lambda d: d.sort_key))
    _fail_on(diagnostics, config)
    packages: list[Path] = []
    changes = None
    if write and cards:
        _make_folder(config.output)
        stamp = now if now is not None else _build_time()
        shipped, manifest, changes = plan_release(cards, previous, stamp, unreadable)
        media = {card.guid: card.media for card in cards}
        for path, group in _packages(config, shipped).items():
            packages.append(_write(path, group, media, index))
        write_manifest(config.manifest_path, manifest)
    return BuildResult(
        packages=tuple(packages),
        notes=tuple(summaries),
        notes_left_out=left_out,
        cards=len(cards),
        decks=len({c.deck for c in cards}),
        changes=changes,
        diagnostics=diagnostics,
    )


def _packages(config: Config, shipped: Sequence[PackageNote]) -> dict[Path, list[PackageNote]]:
    """One package for the vault, or with `split` one per top-level deck, named after it."""
    if not config.split:
        return {config.package_path: list(shipped)}
    groups: dict[Path, list[PackageNote]] = defaultdict(list)
    for note in shipped:
        groups[config.output / f"{file_stem(note.deck.split('::')[0])}.apkg"].append(note)
    return dict(sorted(groups.items()))


def _write(path: Path, notes: Sequence[PackageNote],
           media: Mapping[str, tuple[PurePosixPath, ...]], index: VaultIndex) -> Path:
    files = {media_name(rel): index.root / rel
             for note in notes for rel in media.get(note.guid, ())}
    newest = max([REVISION, *(n.mod for n in notes)])
    try:
        return write_package(path, notes, files, timestamp=newest)
    except OSError as e:
        raise OutputError(f"cannot write the package ({e.strerror or e}); check that the "
                          "output folder is writable and the disk has room", path=path) from e


def read_notes(index: VaultIndex, config: Config
               ) -> tuple[list[Note], int, tuple[Diagnostic, ...]]:
    """Read and split every note; a bad note becomes an error diagnostic, never a traceback."""
    rules = HeadingRules(config.heading_level, config.skipped_headings)
    notes: list[Note] = []
    diagnostics: list[Diagnostic] = []
    left_out = 0
    for rel in index.notes:
        try:
            note, problems = parse_note(read_note(index.root, rel), rules)
        except NoteError as e:
            skip = config.keep_going or isinstance(e, NotANote)
            diagnostics.append(Diagnostic(e.path, e.line, Level.WARNING if skip else Level.ERROR,
                                          "bad-note", e.message + (" (skipped)" if skip else "")))
            continue
        if note.excluded or (config.published_only and not note.published):
            left_out += 1
            continue
        notes.append(note)
        diagnostics += problems
    return notes, left_out, tuple(diagnostics)


def assign_identities(notes: Sequence[Note]
                      ) -> tuple[dict[PurePosixPath, str], tuple[Diagnostic, ...]]:
    """Each note's identity is its permalink; notes sharing one get a more specific identity
    (permalink + dg-path, else + vault path) so no card is merged into another note's."""
    by_permalink: dict[str, list[Note]] = defaultdict(list)
    for note in notes:
        by_permalink[note.permalink].append(note)
    identities: dict[PurePosixPath, str] = {}
    diagnostics: list[Diagnostic] = []
    for permalink, group in by_permalink.items():
        if len(group) == 1:
            identities[group[0].rel] = permalink
            if group[0].permalink_from == "path":
                diagnostics.append(Diagnostic(
                    Path(group[0].rel), None, Level.WARNING, "no-permalink",
                    "note has no permalink, dg-permalink or dg-path: its cards' IDs follow the "
                    "file path, so moving or renaming it makes new cards; add a `permalink`"))
            continue
        names = ", ".join(n.rel.as_posix() for n in group)
        dg_paths = [str(n.meta.get("dg-path", "")) for n in group]
        for note, dg_path in zip(group, dg_paths, strict=True):
            unique = dg_path and dg_paths.count(dg_path) == 1
            identities[note.rel] = f"{permalink}|{dg_path if unique else note.rel.as_posix()}"
            diagnostics.append(Diagnostic(
                Path(note.rel), None, Level.WARNING, "duplicate-permalink",
                f"{len(group)} notes share the permalink {permalink} ({names}); each keeps its "
                "own cards, but give them distinct permalinks (or dg-permalink) so their IDs "
                "do not depend on their paths"))
    return identities, tuple(diagnostics)


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



