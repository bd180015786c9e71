"""Every card of the vault, in note order: from the render cache where a note and everything
it depends on are unchanged, else rendered, on every core when there is enough to render.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath

from .cache import RenderCache, code_digest, digest_of
from .cards import Card, CardSettings, note_cards
from .config import Config
from .errors import Diagnostic
from .notes import Vault
from .parallel import forked_map
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
    done = len(results) - len(missing)
    for i, (rendered, pickled) in zip(missing, forked_map(job.run, missing), strict=True):
        results[i] = rendered
        if cache is not None:
            cache.put(keys[i], pickled or rendered)
        done += 1
        if progress is not None and done % 20 == 0:
            progress(done, len(results))
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

    def run(self, i: int) -> NoteCards:
        note = self.notes[i]
        return note_cards(note, self.identities[note.rel], self.settings, self.targets,
                          self.pins)


def _context_digest(vault: Vault, config: Config, pins: Mapping[str, str]) -> str:
    """Everything besides a note's own text that its cards depend on (see cache.py)."""
    settings = (config.question_format, config.root_deck, config.tags, config.folder_tags,
                config.site_url, config.heading_level, config.skipped_headings, config.cloze)
    return digest_of((
        code_digest(), repr(settings), *(p.as_posix() for p in vault.index.files),
        *(f"{n.rel}\0{vault.identities[n.rel]}\0{n.permalink}\0{n.title}" for n in vault.notes),
        *sorted(f"{k}\0{v}" for k, v in pins.items()),
    ))


