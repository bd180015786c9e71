"""What a build reuses, decided in one place, with the reason a user reads (`build --explain`).

Everything a build may reuse was left by the last successful build in the cache beside the
package (`OUTPUT/.anki-export-cache/`); a plan is one of three kinds:

- **up to date**: the fingerprint (every file's size and time, the settings, the manifest,
  anki-export's own code) is the last build's, and its packages are still the ones it wrote:
  nothing is read or written, and the parser is not even loaded;
- **update in place**: the same notes as last time, only some of them changed: only those
  render, into the collection the last build kept (layout.py). The update gives way to a full
  build if a changed note then gives other cards than before (`full_build` says why);
- **full build**: every note's cards go into new packages, each note's from the render cache
  where its key (`render_keys`) is unchanged and what its links found in the vault still
  holds (`collect.cards_by_note` asks), else rendered.

Every key derives from one place: `card_key`, made of every `Config` field that can change
a card (`SETTINGS` classifies each), and anki-export's code. Files saved just before a build
(`FileStats.unsettled`) count by their bytes, as their time stamps prove nothing yet.
`--no-cache` (`fresh`) reads nothing of the cache and the kept collections: the package is
the one a first build into an empty folder gives (with the same manifest).

Below the plan, reading the vault reuses too, by content alone: `notes.py` does not read a
note whose size and time are as when the last build read it, and keeps each note's split by
its text's digest; `manifest.py` does not parse the manifest the last build wrote
(`written_manifest`). Neither can serve stale content: each is keyed by what it stands for.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from enum import Enum
from itertools import chain
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Literal

from .cache import RenderCache, code_digest, digest_of
from .config import KEYS, Config
from .errors import Diagnostic, Level
from .files import file_digest, file_stamp
from .vault import FileStats, VaultIndex

if TYPE_CHECKING:
    from .cards import Card, Pins
    from .layout import Layout
    from .manifest import Facts, KnownManifest
    from .notes import Vault


class Effect(Enum):
    CARDS = "can change a card"
    NO_CARD = "changes no card"


SETTINGS: Mapping[str, Effect] = {
    "vault": Effect.CARDS,  # its folder's name is the deck of the notes at its top
    "output": Effect.NO_CARD,  # where the packages go
    "root_deck": Effect.CARDS,
    "published_only": Effect.NO_CARD,  # which notes are taken, not what a note's cards are
    "heading_level": Effect.CARDS,
    "heading_level_by_folder": Effect.CARDS,
    "intro": Effect.CARDS,
    "skipped_headings": Effect.CARDS,
    "question_format": Effect.CARDS,
    "site_url": Effect.CARDS,
    "tags": Effect.CARDS,
    "folder_tags": Effect.CARDS,
    "cloze": Effect.CARDS,
    "package_name": Effect.NO_CARD,
    "split": Effect.NO_CARD,  # which package a card goes into
    "manifest": Effect.NO_CARD,
    "strict": Effect.NO_CARD,  # whether warnings fail the build
    "keep_going": Effect.NO_CARD,  # whether an unreadable note fails the build
    "max_answer_words": Effect.CARDS,  # its warnings are kept with the cards
    "sr_cards": Effect.CARDS,
    "sr_settings": Effect.CARDS,
}
"""Every `Config` field, and whether it can change a card: those that can make `card_key`,
so a cached card is never served under other settings. A new field must be added here
(`tests/test_plan.py` fails until it is); one left out counts as changing cards."""


def setting_values(config: Config) -> tuple[tuple[str, str], ...]:
    """Each setting (Config field) and its value, as text. The vault's is its path and its
    folder's name (resolved: a relative path can name another folder)."""
    return tuple((f.name, repr((config.vault, config.vault_name)) if f.name == "vault"
                  else repr(getattr(config, f.name))) for f in fields(Config))


def card_key(config: Config) -> str:
    """The one key of everything beyond a note that can change its cards but the vault:
    the settings that can (`SETTINGS`) and anki-export's code. The render cache's keys and
    the up-to-date fingerprint are made from it."""
    return digest_of((code_digest(), *(f"{name}\0{value}" for name, value in setting_values(config)
                                       if SETTINGS.get(name, Effect.CARDS) is Effect.CARDS)))


def _other_settings(config: Config) -> Iterator[str]:
    return (f"{name}\0{value}" for name, value in setting_values(config)
            if SETTINGS.get(name, Effect.CARDS) is Effect.NO_CARD)


@dataclass(frozen=True, slots=True)
class RenderKeys:
    """The render cache's keys of a build's notes (`render_keys`)."""

    context: str  # `render_context`: what every key takes beyond its note
    notes: tuple[str, ...]  # each note's key, in the vault's order


def render_keys(vault: Vault, config: Config, pins: Pins) -> RenderKeys:
    """Each note's render cache key: its text, its identity and everything else its cards
    depend on but the rest of the vault, which its links reach through `LinkTargets`: an
    entry is used only while their answers hold (`collect.cards_by_note`). A note that embeds
    others also depends on the text of every note."""
    context = render_context(config, pins)
    everything = digest_of(vault.digests[n.rel] for n in vault.notes)
    return RenderKeys(context, tuple(
        digest_of((context, n.rel.as_posix(), vault.identities[n.rel], vault.digests[n.rel],
                   everything if n.embeds else "")) for n in vault.notes))


def render_context(config: Config, pins: Pins) -> str:
    """What every note's render key takes beyond the note: `card_key` and the pinned IDs."""
    return digest_of((card_key(config), *sorted(f"{k}\0{v}" for k, v in pins.by_key.items())))


def links_context(vault: Vault) -> str:
    """Every file name of the vault and every note's identity, permalink and title: what the
    notes' links and GUIDs can depend on beyond their own text. An update in place needs it
    unchanged, as it looks no unchanged note's links up."""
    return digest_of((*(p.as_posix() for p in vault.index.files),
                      *(f"{n.rel}\0{vault.identities[n.rel]}\0{n.permalink}\0{n.title}"
                        for n in vault.notes)))


@dataclass(frozen=True, slots=True)
class VaultState:
    """The vault's files as this build found them, and as the last build took them."""

    stats: FileStats | None  # None: a file could not be looked at (then nothing is current)
    files: str  # digest of every file's stats and the walk's warnings ("" without stats)
    unsettled: Mapping[PurePosixPath, str]  # files saved just before this build: their bytes
    last_unsettled: Mapping[PurePosixPath, str]  # those the last build found so, read now

    def fingerprint(self, config: Config, manifest_digest: str, *, now: bool) -> str:
        """Cheap: the files' stats, the settings (`card_key` and the others), the manifest,
        `SOURCE_DATE_EPOCH`, and the bytes of the files saved just before the build (as this
        build read them if `now`, else as the last build took them). Equal to the last
        successful build's, its packages are current; never with a file that cannot be
        looked at."""
        if not self.files:
            return ""
        unsettled = self.unsettled if now else self.last_unsettled
        return digest_of((card_key(config), *_other_settings(config), manifest_digest,
                          os.environ.get("SOURCE_DATE_EPOCH", ""), self.files,
                          *(f"{rel}\0{digest}" for rel, digest in sorted(unsettled.items()))))

    def other_files(self, index: VaultIndex, *, now: bool) -> str:
        """The files that are not notes (images): their stats, and the bytes of those saved
        just before the build (now, or as the last build took them)."""
        if self.stats is None:
            return ""
        notes = set(index.notes)
        unsettled = self.unsettled if now else self.last_unsettled
        return digest_of((*_stat_lines(self.stats, lambda rel: rel not in notes),
                          *(f"{rel}\0{digest}" for rel, digest in unsettled.items()
                            if rel not in notes)))


def vault_state(index: VaultIndex, stats: FileStats | None, scan_problems: Iterable[Diagnostic],
                cache: RenderCache, *, write: bool) -> VaultState:
    """Each file's stats (taken once: the costly part of both fingerprints) and the walk's
    warnings (a FIFO, a link out of the vault: a build must repeat them)."""
    files = (digest_of(chain(_stat_lines(stats), map(str, scan_problems)))
             if stats is not None else "")
    last = [PurePosixPath(line) for line in (cache.state("unsettled") or "").splitlines()]
    return VaultState(
        stats, files,
        _contents(index, stats.unsettled()) if write and stats is not None else {},
        _contents(index, last) if write else {})


def _stat_lines(stats: FileStats, only: Callable[[PurePosixPath], bool] = lambda rel: True
                ) -> Iterator[str]:
    return (f"{rel}\0{size}\0{mtime}" for rel, (size, mtime) in stats.files.items()
            if only(rel))


def _contents(index: VaultIndex, files: Iterable[PurePosixPath]) -> dict[PurePosixPath, str]:
    """The digest of each of these files' bytes, read now."""
    return {rel: file_digest(index.root / rel) for rel in files}


@dataclass(frozen=True, slots=True)
class Basis:
    """What an update in place must find as the last build left it, part by part, so that
    a plan can say which part changed: a kept collection holds the notetypes and settings
    it was written with, and an update looks no unchanged note's links up again."""

    settings: tuple[tuple[str, str], ...]  # `setting_values`
    notetypes: str
    manifest: str  # the digest of the manifest as the last build wrote it
    links: str  # `links_context`
    other_files: str  # `VaultState.other_files`

    def differences(self, other: Basis) -> list[str]:
        """What changed from `other` to this one, as sentences."""
        found = []
        names = [setting_name(name) for (name, value), (_, was) in zip(
            self.settings, other.settings, strict=False) if value != was]
        if names or len(self.settings) != len(other.settings):
            found.append(f"the setting {names[0]} changed" if len(names) == 1 else
                         f"the settings {', '.join(names)} changed" if names else
                         "the settings changed")
        if self.notetypes != other.notetypes:
            found.append("the card templates changed (another version of anki-export)")
        if self.manifest != other.manifest:
            found.append("the build manifest is not the one the last build wrote")
        if self.links != other.links:
            found.append("a file was added, removed or renamed, or a note's title or permalink "
                         "changed (notes whose links it concerns render again)")
        if self.other_files != other.other_files:
            found.append("a file that is not a note (an image) changed")
        return found


def basis(config: Config, manifest_digest: str, links: str, other_files: str) -> Basis:
    from . import notetypes

    return Basis(setting_values(config),
                 digest_of(map(repr, (notetypes.basic_notetype(), notetypes.cloze_notetype(),
                                      notetypes.reversed_notetype()))),
                 manifest_digest, links, other_files)


def setting_name(field: str) -> str:
    """A Config field as the user writes it: its key in anki-export.toml."""
    if field == "sr_settings":
        return "the Spaced Repetition plugin's settings"
    return next((key for key, spec in KEYS.items() if spec.field == field), field)


Kind = Literal["up to date", "update in place", "full build"]


@dataclass(frozen=True, slots=True)
class NoteChange:
    """A note that renders (or is gone), and why."""

    path: PurePosixPath
    why: str  # "text changed", "new", "removed", "a note it embeds changed", …


@dataclass(frozen=True, slots=True)
class LastBuild:
    """What the last build reported: an up-to-date build reports it again."""

    packages: tuple[Path, ...]
    stamps: tuple[tuple[int, int], ...]  # each package's size and mtime as written
    notes: int
    notes_left_out: int
    cards: int
    decks: int
    diagnostics: tuple[Diagnostic, ...]


@dataclass(frozen=True, slots=True)
class BuildPlan:
    """What a build reuses, and why: made by `up_to_date`, `plan_build` or `full_build`."""

    kind: Kind
    reason: str  # a sentence a user reads
    changed: tuple[NoteChange, ...] = ()  # notes that render, and notes gone, with why
    reused: int = 0  # notes whose cards come from the render cache or stay in the kept
    # collection (an update)
    render: Collection[int] = ()  # the notes to render, by place in the vault's notes;
    # the others' cards come from the cache (its entries loaded) or the kept collection
    update: tuple[int, ...] = ()  # an update in place: the notes it ships again, by place
    last: LastBuild | None = None  # an up-to-date build's report

    def explain(self) -> str:
        """The plan in a few lines: its kind and reason, the notes that render grouped by
        why (the first few of each), and how many are reused."""
        lines = [f"Plan: {self.kind} — {self.reason}"]
        groups: dict[str, list[str]] = {}
        for change in self.changed:
            groups.setdefault(change.why, []).append(change.path.as_posix())
        for why, paths in groups.items():
            named = ", ".join(paths[:SHOWN])
            more = f" and {len(paths) - SHOWN} more" if len(paths) > SHOWN else ""
            lines.append(f"  {why}: {named}{more}")
        if self.kind == "update in place":
            lines.append(f"  {_count(len(self.update), 'note')} shipped again, "
                         f"{self.reused} kept as the last build wrote them")
        elif self.kind == "full build":
            verb = "renders" if len(self.render) == 1 else "render"
            lines.append(f"  {_count(len(self.render), 'note')} {verb}, {self.reused} "
                         "from the render cache")
        return "\n".join(lines)


SHOWN = 5  # notes `explain` names for each reason


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def up_to_date(cache: RenderCache, fingerprint: str, now: int) -> BuildPlan | str:
    """An up-to-date plan when nothing changed since the last build and its packages are
    still the ones it wrote (their size and mtime), and no removed section's 30 days ran
    out meanwhile (then it must stop being shipped); else why not."""
    if not fingerprint:
        return "a file of the vault could not be looked at"
    if cache.state("fingerprint") != fingerprint:
        return ("no earlier build in this output folder" if cache.state("fingerprint") is None
                else "files or settings changed since the last build")
    last = _last_build(cache)
    if last is None:
        return "the cache's record of the last build is unreadable"
    expires = cache.state("expires")
    if expires and expires.isdigit() and now >= int(expires):
        return "a removed section's 30 days ran out: it is no longer shipped"
    if [file_stamp(p) for p in last.packages] != list(last.stamps):
        return "a package was removed or replaced since the last build"
    return BuildPlan("up to date", f"nothing changed since the last build "
                     f"({_count(last.notes, 'note')}, {_count(last.cards, 'card')})",
                     reused=last.notes, last=last)


def _last_build(cache: RenderCache) -> LastBuild | None:
    """The last build's report, as `remember` stored it; None if it cannot be read (the
    cache is only ever trusted to say what it can say)."""
    try:
        saved = json.loads(cache.state("result") or "null")
        return LastBuild(
            tuple(Path(p) for p in saved["packages"]),
            tuple((int(size), int(mtime)) for size, mtime in saved["stamps"]),
            saved["notes"], saved["left_out"], saved["cards"], saved["decks"],
            tuple(Diagnostic(Path(d["path"]) if d["path"] else None, d["line"],
                             Level(d["level"]), d["code"], d["message"],
                             tuple(Path(r) for r in d.get("related", ())))
                  for d in saved["diagnostics"]))
    except (ValueError, KeyError, TypeError):
        return None


def remember(cache: RenderCache, state: VaultState, fingerprint: str, last: LastBuild,
             expires: int | None) -> None:
    """What the next build needs to find itself up to date: this build's fingerprint, the
    files it found unsettled (their bytes are in the fingerprint), and its report."""
    cache.set_state("fingerprint", fingerprint)
    cache.set_state("unsettled", "\n".join(rel.as_posix() for rel in state.unsettled))
    cache.set_state("result", json.dumps({
        "packages": [str(p) for p in last.packages], "stamps": last.stamps,
        "notes": last.notes, "left_out": last.notes_left_out, "cards": last.cards,
        "decks": last.decks,
        "diagnostics": [{"path": d.path.as_posix() if d.path else None, "line": d.line,
                         "level": d.level.value, "code": d.code, "message": d.message,
                         "related": [r.as_posix() for r in d.related]}
                        for d in last.diagnostics]}))
    cache.set_state("expires", str(expires or ""))


def plan_build(vault: Vault, keys: RenderKeys, layout: Layout | None, basis_now: Basis,
               cache: RenderCache, *, why_not_current: str, can_update: bool, fresh: bool
               ) -> BuildPlan:
    """An update in place of the last build's packages where it can be (the same notes,
    only some changed, and everything else as it left it: `basis_now`, taken as the last
    build took it), else a full build; `can_update` False for `check` and for a vault with
    a file that cannot be looked at. `why_not_current` says why the build is not up to
    date, the reason where no note changed."""
    if fresh:
        return full_build(vault, keys, None, cache, "--no-cache: nothing is read from the "
                          "cache, every note renders")
    if layout is None:
        return full_build(vault, keys, None, cache, "no earlier build in this output "
                          "folder's cache (a first build, or the cache was removed)")
    if not can_update:
        return full_build(vault, keys, layout, cache, why_not_current)
    differences = basis_now.differences(layout.basis)
    if differences:
        return full_build(vault, keys, layout, cache, "; ".join(differences))
    if vault.unreadable:
        return full_build(vault, keys, layout, cache, "a note could not be read (skipped "
                          "with --keep-going): its cards are kept as they were")
    if not layout.usable():
        return full_build(vault, keys, layout, cache, "a package or the collection kept "
                          "beside it changed since the last build")
    if [n.rel for n in layout.notes] != [n.rel.as_posix() for n in vault.notes]:
        return full_build(vault, keys, layout, cache, "notes were added, removed or renamed")
    changed = tuple(i for i, key in enumerate(keys.notes) if key != layout.notes[i].key)
    cache.load(keys.notes[i] for i in changed)
    reason = (f"{why_not_current}, but no note did" if not changed
              else "anki-export changed since the last build (another version): every note "
              "renders again" if keys.context != layout.context
              else f"only {_count(len(changed), 'note')} changed since the last build")
    return BuildPlan("update in place", reason, _changes(vault, keys, layout, changed),
                     len(keys.notes) - len(changed),
                     frozenset(i for i in changed if not cache.has(keys.notes[i])), changed)


def full_build(vault: Vault, keys: RenderKeys, layout: Layout | None, cache: RenderCache,
               reason: str) -> BuildPlan:
    """A full build: every note whose key the cache holds comes from it (its entries loaded
    here, for `collect.cards_by_note` to take in note order), the others render."""
    cache.load(keys.notes)
    render = [i for i, key in enumerate(keys.notes) if not cache.has(key)]
    changes: tuple[NoteChange, ...] = ()
    if layout is not None:
        last = {n.rel: n.key for n in layout.notes}
        missing = set(render)
        changes = _changes(vault, keys, layout, [
            i for i, n in enumerate(vault.notes)
            if i in missing or last.get(n.rel.as_posix()) != keys.notes[i]])
        present = {n.rel.as_posix() for n in vault.notes}
        changes += tuple(NoteChange(PurePosixPath(n.rel), "removed") for n in layout.notes
                         if n.rel not in present)
    every = len(render) == len(keys.notes)
    return BuildPlan("full build", reason, changes, len(keys.notes) - len(render),
                     range(len(keys.notes)) if every else frozenset(render))


def _changes(vault: Vault, keys: RenderKeys, layout: Layout, places: Sequence[int]
             ) -> tuple[NoteChange, ...]:
    """What changed of the notes at these places since the last build's layout. When the
    settings or anki-export changed, every note did, for the plan's reason: none listed."""
    if layout.context != keys.context:
        return ()
    before = {n.rel: n for n in layout.notes}
    found = []
    for i in places:
        note = vault.notes[i]
        last = before.get(note.rel.as_posix())
        why = ("new" if last is None else "not in the cache" if last.key == keys.notes[i]
               else "text changed" if last.text != vault.digests[note.rel]
               else "it embeds notes, and a note changed" if note.embeds
               else "its permalink or a pinned ID changed")
        found.append(NoteChange(note.rel, why))
    return tuple(found)


MANIFEST_KEY = "manifest"  # in the render cache: the digest and `manifest_facts` of the
# manifest the last build wrote (`written_manifest`)


def written_manifest(cache: RenderCache, digest: str) -> KnownManifest | None:
    """What the cache knows of the manifest the last build wrote, for `read_manifest` to
    read it without parsing it while it is still that file (`digest`: as read now)."""
    from .manifest import KnownManifest

    written = cache.get_parts(MANIFEST_KEY)
    return KnownManifest(digest, written.head, dict(written.items)) if written else None


def facts_if_unchanged(facts: Facts | None, cards: Sequence[Card]) -> Facts | None:
    """The stored facts, if these cards (of a changed note) left theirs as they were: then
    the manifest's facts stay stored as they are (an update in place)."""
    if facts is None or any(facts.get(c.guid) != (c.key, c.source.as_posix(), None)
                            for c in cards):
        return None
    return facts
