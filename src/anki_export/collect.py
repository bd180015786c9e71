"""Every card of the vault, note by note in order: from the render cache where a note and
everything it depends on are unchanged, else rendered, on every core when there is enough to
render.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import NamedTuple

from .cache import RenderCache
from .cards import Card, CardSettings, Pins, note_cards
from .config import Config
from .errors import Diagnostic
from .notes import Vault
from .parallel import forked_map
from .parse import Note
from .pickling import register_picklers
from .render import LinkTargets, Lookup, load_renderers

register_picklers()


@dataclass(frozen=True, slots=True)
class NoteSummary:
    """What a build reports of one note."""

    path: PurePosixPath
    title: str
    cards: int  # notes it gave in Anki (a cloze note holds several cards)
    skipped: tuple[str, ...]  # sections that matched the rules but gave no card, and why


Progress = Callable[[int, int], None]
"""Called with (notes done, notes in all) as the build renders, for a progress bar."""


NoteCards = tuple[tuple[Card, ...], tuple[Diagnostic, ...]]


class Rendering(NamedTuple):
    """What the render cache keeps of a note."""

    made: NoteCards  # its cards and warnings
    lookups: tuple[Lookup, ...]  # what its links asked of the vault (`LinkTargets`)


def cards_by_note(vault: Vault, config: Config, targets: LinkTargets, pins: Pins,
                  *, keys: Sequence[str] = (), only: Sequence[int] | None = None,
                  render: Collection[int] | None = None, cache: RenderCache | None = None,
                  progress: Progress | None = None) -> Iterator[tuple[Note, NoteCards]]:
    """Each note (or those at the indices `only`) with its cards and warnings, in note order,
    as they are made: rendered, on every core when there is enough to render, where the plan
    says so (`render`, plan.py: those not in the `cache`, whose entries it loaded), else from
    the cache, if what its links asked of the vault gets the same answers (else rendered
    again, here: a note that a new file, or another note's new title, concerns). Without
    `render`, every note renders. A build writes each card as it comes, so none are held all
    at once."""
    settings = CardSettings(config.question_format, config.root_deck, config.tags,
                            config.folder_tags, config.cloze, config.vault_name,
                            config.max_answer_words)
    wanted = range(len(vault.notes)) if only is None else only
    missing = [i for i in wanted if render is None or i in render]
    job = _RenderJob(tuple(vault.notes), vault.identities, settings, targets, pins)
    to_render = set(missing)
    languages = {lang for i in missing for lang in vault.notes[i].code_languages}
    rendered = forked_map(job.run, missing,  # in the order of `missing`
                          before_fork=lambda: load_renderers(sorted(languages)))
    for done, i in enumerate(wanted, 1):
        if i in to_render:
            rendering, pickled = next(rendered)
            made = rendering.made
            if cache is not None:
                cache.put(keys[i], pickled or rendering)
        else:
            assert cache is not None
            entry = cache.get(keys[i])
            if not (isinstance(entry, Rendering) and targets.answers_hold(entry.lookups)):
                entry = job.run(i)  # links that resolve otherwise now, or an unreadable entry
                cache.put(keys[i], entry)
            made = entry.made
        yield vault.notes[i], made
        if progress is not None and (done % 20 == 0 or done == len(wanted)):
            progress(done, len(wanted))


def make_cards(vault: Vault, config: Config, targets: LinkTargets, pins: Pins
               ) -> tuple[list[Card], list[Diagnostic]]:
    """Every card and warning of the vault at once, for the preview page."""
    cards: list[Card] = []
    diagnostics: list[Diagnostic] = []
    for _, (made, problems) in cards_by_note(vault, config, targets, pins):
        cards += made
        diagnostics += problems
    return cards, diagnostics


@dataclass(frozen=True, slots=True)
class _RenderJob:
    """Renders note `i` into its cards: inherited by forked workers, not sent."""

    notes: tuple[Note, ...]
    identities: Mapping[PurePosixPath, str]
    settings: CardSettings
    targets: LinkTargets
    pins: Pins

    def run(self, i: int) -> Rendering:
        note = self.notes[i]
        targets = self.targets.recording()
        made = note_cards(note, self.identities[note.rel], self.settings, targets, self.pins)
        assert targets.lookups is not None
        return Rendering(made, tuple(targets.lookups))
