"""Every card of the vault, in note order: from the render cache where a note and everything
it depends on are unchanged, else rendered, on every core when there is enough to render.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import PurePosixPath

from .cache import RenderCache, code_digest, digest_of
from .cards import Card, CardSettings, note_cards
from .config import Config
from .errors import Diagnostic
from .notes import Vault
from .parse import Note
from .pickling import register_picklers
from .render import LinkTargets

register_picklers()


@dataclass(frozen=True, slots=True)
class NoteSummary:
    path: PurePosixPath
    title: str
    cards: int  # notes it gave in Anki (a cloze note holds several cards)
    skipped: tuple[str, ...]  # sections that matched the rules but gave no card, and why


Progress = Callable[[int, int], None]
"""Called with (notes done, notes in all) as the build renders, for a progress bar."""


def make_cards(vault: Vault, config: Config, targets: LinkTargets, pins: Mapping[str, str], *,
               cache: RenderCache | None = None, progress: Progress | None = None
               ) -> tuple[list[Card], list[NoteSummary], list[Diagnostic]]:
    """Every card of the vault, in note order: from the cache where a note and its context are
    unchanged, else rendered, on every core when there is enough to render."""
    settings = CardSettings(config.question_format, config.root_deck, config.tags,
                            config.folder_tags, config.cloze)
    context = _context_digest(vault, config, pins)
    everything = digest_of(vault.digests[n.rel] for n in vault.notes)
    keys = [digest_of((context, n.rel.as_posix(), vault.digests[n.rel],
                       everything if n.embeds else "")) for n in vault.notes]
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


