"""The pipeline, in order: discover → read + frontmatter → sections → cards → ids → package.

Like mkdocs' `build()`, one readable function calls each step; the steps return diagnostics
instead of printing, and nothing is written unless the whole build succeeded, so a failed
build never touches the package already in the output folder.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
import sqlite3
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .cache import CACHE_NAME, RenderCache, code_digest, digest_of
from .cards import Card, CardSettings, note_cards
from .config import Config, file_stem
from .errors import BuildFailed, Diagnostic, Level, NotANote, NoteError, OutputError
from .ids import media_name
from .manifest import Changes, plan_release, read_manifest, write_manifest
from .notetypes import REVISION
from .package import PackageNote, card_ords, write_package
from .parse import HeadingRules, Note, parse_note
from .render import LinkTargets
from .vault import SourceFile, VaultIndex, read_note, scan_vault


@dataclass(frozen=True, slots=True)
class NoteSummary:
    path: PurePosixPath
    title: str
    cards: int  # Anki cards: one per basic note, one per cloze number of a cloze note
    skipped: tuple[str, ...]  # sections that matched the rules but gave no card, and why


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


Progress = Callable[[int, int], None]
"""Called with (notes done, notes in all) as the build renders, for a progress bar."""


@dataclass(frozen=True, slots=True)
class Vault:
    """The vault as read for one build: every note in it, before any card is made."""

    index: VaultIndex
    notes: tuple[Note, ...]  # the notes this build takes, in path order
    digests: Mapping[PurePosixPath, str]  # each note's text, hashed: the cache key's core
    identities: Mapping[PurePosixPath, str]  # each note's GUID seed (permalink, or more)
    left_out: int  # not published (`dg-publish`), or `anki: false`
    unreadable: frozenset[str]  # notes skipped for an error: their cards are kept as they were
    diagnostics: tuple[Diagnostic, ...]


def build(config: Config, *, write: bool = True, now: int | None = None,
          progress: Progress | None = None) -> BuildResult:
    """Build the vault into its package(s); raise `BuildFailed` listing every problem found."""
    index, scan_problems = scan_vault(config.vault)
    previous = read_manifest(config.manifest_path)
    cache = RenderCache(config.output / CACHE_NAME if write else None)
    if write and (current := _up_to_date(cache, _fingerprint(index, config))) is not None:
        return current
    vault = load_vault(index, config, scan_problems, cache)
    targets = LinkTargets(index, {n.rel: n for n in vault.notes}, config.site_url)
    cards, summaries, card_problems = make_cards(vault, config, targets, previous.pins(),
                                                 cache=cache, progress=progress)
    diagnostics = tuple(sorted((*vault.diagnostics, *card_problems), key=lambda d: d.sort_key))
    _fail_on(diagnostics, config)
    packages: list[Path] = []
    changes = None
    if write and cards:
        _make_folder(config.output)
        stamp = now if now is not None else _build_time()
        shipped, manifest, changes = plan_release(cards, previous, stamp, vault.unreadable)
        media = {card.guid: card.media for card in cards}
        for path, group in _packages(config, shipped).items():
            packages.append(_write(path, group, media, index))
        write_manifest(config.manifest_path, manifest)
    result = BuildResult(
        packages=tuple(packages),
        notes=tuple(summaries),
        notes_left_out=vault.left_out,
        cards=sum(len(card_ords(c.notetype, c.fields)) for c in cards),
        decks=len({c.deck for c in cards}),
        changes=changes,
        diagnostics=diagnostics,
    )
    if write and packages:
        cache.set_state("fingerprint", _fingerprint(index, config))
        cache.set_state("result", _result_json(result))
        cache.save()
    return result


def load_vault(index: VaultIndex, config: Config, scan_problems: tuple[Diagnostic, ...] = (),
               cache: RenderCache | None = None) -> Vault:
    """Read and split every note and give each its identity."""
    notes, digests, left_out, read_problems = read_notes(index, config, cache)
    identities, id_problems = assign_identities(notes)
    unreadable = frozenset(d.path.as_posix() for d in read_problems
                           if d.code == "bad-note" and d.path is not None)
    return Vault(index, tuple(notes), digests, identities, left_out, unreadable,
                 (*scan_problems, *read_problems, *id_problems))


def make_cards(vault: Vault, config: Config, targets: LinkTargets, pins: Mapping[str, str], *,
               cache: RenderCache | None = None, progress: Progress | None = None
               ) -> tuple[list[Card], list[NoteSummary], list[Diagnostic]]:
    """Every card of the vault, in note order: from the cache where a note and its context are
    unchanged, else rendered, on every core when there is enough to render."""
    settings = CardSettings(config.question_format, config.root_deck, config.tags,
                            config.folder_tags, config.cloze)
    context = _context_digest(vault, config, pins)
    everything = digest_of(vault.digests[n.rel] for n in vault.notes)
    keys = [digest_of((context, vault.digests[n.rel], everything if n.embeds else ""))
            for n in vault.notes]
    if cache is not None:
        cache.load(keys)
    results: list[NoteCards | None] = [cache.get(k) if cache else None for k in keys]
    missing = [i for i, r in enumerate(results) if r is None]
    job = _RenderJob(tuple(vault.notes), vault.identities, settings, targets, pins)
    for i, rendered in zip(missing, _render(job, missing, progress,
                                            len(results) - len(missing)), strict=True):
        results[i] = rendered
        if cache is not None:
            cache.put(keys[i], rendered)
    cards: list[Card] = []
    summaries: list[NoteSummary] = []
    diagnostics: list[Diagnostic] = []
    for note, made in zip(vault.notes, results, strict=True):
        assert made is not None  # every miss was rendered above
        cards += made[0]
        diagnostics += made[1]
        summaries.append(NoteSummary(note.rel, note.title, len(made[0]), note.skipped))
    if progress is not None and vault.notes:
        progress(len(vault.notes), len(vault.notes))
    return cards, summaries, diagnostics


NoteCards = tuple[tuple[Card, ...], tuple[Diagnostic, ...]]


@dataclass(frozen=True, slots=True)
class _RenderJob:
    notes: tuple[Note, ...]
    identities: Mapping[PurePosixPath, str]
    settings: CardSettings
    targets: LinkTargets
    pins: Mapping[str, str]

    def run(self, indices: Sequence[int]) -> list[NoteCards]:
        return [note_cards(self.notes[i], self.identities[self.notes[i].rel], self.settings,
                           self.targets, self.pins) for i in indices]


_PARALLEL_FROM = 150  # notes to render before worker processes pay for their start-up
_CHUNK = 40
_job_in_worker: _RenderJob | None = None  # set in each worker process by `_start_worker`


def _start_worker(job: _RenderJob) -> None:
    global _job_in_worker
    _job_in_worker = job


def _run_in_worker(indices: Sequence[int]) -> list[NoteCards]:
    assert _job_in_worker is not None
    return _job_in_worker.run(indices)


def _render(job: _RenderJob, indices: Sequence[int], progress: Progress | None,
            done: int) -> Iterator[NoteCards]:
    """Render the given notes in order; with many of them, in forked worker processes (one per
    core), which inherit the job instead of receiving it pickled."""
    total = done + len(indices)
    chunks = [indices[i : i + _CHUNK] for i in range(0, len(indices), _CHUNK)]
    workers = min(os.cpu_count() or 1, 8)
    if len(indices) < _PARALLEL_FROM or workers < 2 or "fork" not in mp.get_all_start_methods():
        results: Iterable[list[NoteCards]] = map(job.run, chunks)
        yield from _counted(results, progress, done, total)
        return
    context = mp.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                             initargs=(job,)) as pool:
        yield from _counted(pool.map(_run_in_worker, chunks), progress, done, total)


def _counted(chunks: Iterable[list[NoteCards]], progress: Progress | None, done: int,
             total: int) -> Iterator[NoteCards]:
    for chunk in chunks:
        yield from chunk
        done += len(chunk)
        if progress is not None:
            progress(done, total)


def _context_digest(vault: Vault, config: Config, pins: Mapping[str, str]) -> str:
    """Everything besides a note's own text that its cards depend on (see cache.py)."""
    settings = (config.question_format, config.root_deck, config.tags, config.folder_tags,
                config.site_url, config.heading_level, config.skipped_headings, config.cloze)
    return digest_of((
        code_digest(), repr(settings), *(p.as_posix() for p in vault.index.files),
        *(f"{n.rel}\0{vault.identities[n.rel]}\0{n.permalink}\0{n.title}" for n in vault.notes),
        *sorted(f"{k}\0{v}" for k, v in pins.items()),
    ))


def _fingerprint(index: VaultIndex, config: Config) -> str:
    """Cheap: names, sizes and modification times of every file, the settings, the manifest
    and the code. Equal to the last successful build's, the package is current."""
    stats = []
    for rel in index.files:
        try:
            st = (index.root / rel).stat()
        except OSError:
            return ""  # a file that cannot be read: never call this build current
        stats.append(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}")
    try:
        manifest = config.manifest_path.read_bytes()
    except OSError:
        manifest = b""
    return digest_of((code_digest(), repr(config), hashlib.sha256(manifest).hexdigest(),
                      os.environ.get("SOURCE_DATE_EPOCH", ""), *stats))


def _up_to_date(cache: RenderCache, fingerprint: str) -> BuildResult | None:
    """The last build's result when nothing changed since and its packages are still there."""
    if not fingerprint or cache.state("fingerprint") != fingerprint:
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
    except (OSError, sqlite3.Error) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else e
        raise OutputError(f"cannot write the package ({reason}); check that the "
                          "output folder is writable and the disk has room", path=path) from e


def read_notes(index: VaultIndex, config: Config, cache: RenderCache | None = None
               ) -> tuple[list[Note], dict[PurePosixPath, str], int, tuple[Diagnostic, ...]]:
    """Read and split every note; a bad note becomes an error diagnostic, never a traceback.

    A note whose text and heading rules are unchanged comes from the cache, not the parser."""
    rules = HeadingRules(config.heading_level, config.skipped_headings)
    sources: list[SourceFile] = []
    diagnostics: list[Diagnostic] = []
    for rel in index.notes:
        try:
            sources.append(read_note(index.root, rel))
        except NoteError as e:
            diagnostics.append(_bad_note(e, config))
    digests = {s.rel: hashlib.sha256(s.text.encode("utf-8", "surrogatepass")).hexdigest()
               for s in sources}
    keys = {rel: digest_of(("parse", code_digest(), repr(rules), rel.as_posix(), digest))
            for rel, digest in digests.items()}
    if cache is not None:
        cache.load(keys.values())
    notes: list[Note] = []
    left_out = 0
    for source in sources:
        parsed: tuple[Note, tuple[Diagnostic, ...]] | None = (
            cache.get(keys[source.rel]) if cache is not None else None)
        if parsed is None:
            try:
                parsed = parse_note(source, rules)
            except NoteError as e:
                diagnostics.append(_bad_note(e, config))
                del digests[source.rel]
                continue
            if cache is not None:
                cache.put(keys[source.rel], parsed)
        note, problems = parsed
        if note.excluded or (config.published_only and not note.published):
            left_out += 1
            del digests[source.rel]
            continue
        notes.append(note)
        diagnostics += problems
    return notes, digests, left_out, tuple(diagnostics)


def _bad_note(error: NoteError, config: Config) -> Diagnostic:
    """An unreadable note fails the build, unless --keep-going (or it is not text at all)."""
    skip = config.keep_going or isinstance(error, NotANote)
    return Diagnostic(error.path, error.line, Level.WARNING if skip else Level.ERROR, "bad-note",
                      error.message + (" (skipped)" if skip else ""))


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



