"""Every card of the vault, note by note in order: from the render cache where a note and
everything it depends on are unchanged, else rendered, on every core when there is enough to
render.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from .cache import RenderCache, code_digest, digest_of
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
Rendering = tuple[NoteCards, tuple[Lookup, ...]]
"""A note's cards and warnings, and what its links asked of the vault (`LinkTargets`): what
the render cache keeps."""


def render_keys(vault: Vault, config: Config, pins: Pins) -> list[str]:
    """Each note's render cache key: its text, its identity and everything else its cards
    depend on but the rest of the vault, which its links reach through `LinkTargets`: an
    entry is used only while their answers hold (`cards_by_note`). A note that embeds others
    also depends on the text of every note."""
    context = digest_of((code_digest(), repr(_settings(config)),
                         *sorted(f"{k}\0{v}" for k, v in pins.by_key.items())))
    everything = digest_of(vault.digests[n.rel] for n in vault.notes)
    return [digest_of((context, n.rel.as_posix(), vault.identities[n.rel], vault.digests[n.rel],
                       everything if n.embeds else "")) for n in vault.notes]


def links_context(vault: Vault) -> str:
    """Every file name of the vault and every note's identity, permalink and title: what the
    notes' links and GUIDs can depend on beyond their own text. An update in place of the
    last build's packages needs it unchanged (layout.py), as it looks no note's links up."""
    return digest_of((*(p.as_posix() for p in vault.index.files),
                      *(f"{n.rel}\0{vault.identities[n.rel]}\0{n.permalink}\0{n.title}"
                        for n in vault.notes)))


def cards_by_note(vault: Vault, config: Config, targets: LinkTargets, pins: Pins,
                  *, keys: Sequence[str] | None = None, only: Sequence[int] | None = None,
                  cache: RenderCache | None = None, progress: Progress | None = None
                  ) -> Iterator[tuple[Note, NoteCards]]:
    """Each note (or those at the indices `only`) with its cards and warnings, in note order,
    as they are made: from the cache where a note and its context are unchanged and what its
    links asked of the vault gets the same answers (else rendered again, here: a note that a
    new file, or another note's new title, concerns), else rendered, on every core when there
    is enough to render. A build writes each card as it comes, so none are held all at once."""
    settings = CardSettings(config.question_format, config.root_deck, config.tags,
                            config.folder_tags, config.cloze, config.vault_name,
                            config.max_answer_words)
    keys = keys if keys is not None else render_keys(vault, config, pins)
    wanted = range(len(vault.notes)) if only is None else only
    if cache is not None:
        cache.load(keys[i] for i in wanted)
    missing = [i for i in wanted if cache is None or not cache.has(keys[i])]
    job = _RenderJob(tuple(vault.notes), vault.identities, settings, targets, pins)
    to_render = set(missing)
    languages = {lang for i in missing for lang in vault.notes[i].code_languages}
    rendered = forked_map(job.run, missing,  # in the order of `missing`
                          before_fork=lambda: load_renderers(sorted(languages)))
    for done, i in enumerate(wanted, 1):
        if i in to_render:
            (made, lookups), pickled = next(rendered)
            if cache is not None:
                cache.put(keys[i], pickled or (made, lookups))
        else:
            assert cache is not None
            entry = cache.get(keys[i])
            if not (isinstance(entry, tuple) and len(entry) == 2
                    and targets.answers_hold(entry[1])):
                entry = job.run(i)  # links that resolve otherwise now, or an unreadable entry
                cache.put(keys[i], entry)
            made = entry[0]
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
        return made, tuple(targets.lookups)


def _settings(config: Config) -> tuple[object, ...]:
    return (config.question_format, config.root_deck, config.tags, config.folder_tags,
            config.site_url, config.heading_level, config.heading_level_by_folder,
            config.intro, config.skipped_headings, config.cloze, config.vault_name,
            config.max_answer_words, config.sr_cards, config.sr_settings)
