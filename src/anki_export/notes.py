"""The vault as one build reads it: every note read, split and given its identity.

Identity first: a card's GUID comes from its note's permalink, and when several notes share a
permalink each gets a more specific one, so no card is merged into another note's.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .cache import RenderCache, code_digest, digest_of
from .config import Config
from .errors import Diagnostic, Level, NotANote, NoteError
from .parallel import forked_map
from .parse import HeadingRules, Note, parse_note
from .pickling import SectionSpill, new_spill, register_picklers, spilled
from .vault import FileStats, SourceFile, VaultIndex, read_note, settled, share_paths

register_picklers()


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


def load_vault(index: VaultIndex, config: Config, scan_problems: tuple[Diagnostic, ...] = (),
               cache: RenderCache | None = None,
               read_owners: Callable[[], Mapping[str, frozenset[str]]] | None = None,
               stats: FileStats | None = None) -> Vault:
    """Read and split every note and give each its identity (see `assign_identities`)."""
    notes, digests, left_out, read_problems = read_notes(index, config, cache, stats)
    identities, id_problems = assign_identities(notes, read_owners)
    unreadable = frozenset(d.path.as_posix() for d in read_problems
                           if d.code == "bad-note" and d.path is not None)
    return Vault(index, tuple(notes), digests, identities, left_out, unreadable,
                 (*scan_problems, *read_problems, *id_problems))


SOURCES_KEY = "sources"  # in the render cache: each note's stats and text digest, when read


def read_notes(index: VaultIndex, config: Config, cache: RenderCache | None = None,
               stats: FileStats | None = None
               ) -> tuple[list[Note], dict[PurePosixPath, str], int, tuple[Diagnostic, ...]]:
    """Read and split every note; a bad note becomes an error diagnostic, never a traceback.

    A note whose text and heading rules are unchanged comes from the cache, not the parser;
    one whose size and modification time are as when the last build read it is not even read
    (given the `stats` the build took as it started). A note the cache cannot know (a first
    build's) is read, hashed and split in one go on a worker: the text never reaches this
    process, which would otherwise hold the whole vault's at once."""
    rules = HeadingRules(config.heading_level, config.skipped_headings,
                         config.heading_level_by_folder, config.intro == "card",
                         config.sr_settings if config.sr_cards else None)
    share_paths(index.files)  # each unpickled note and card names its file as the index does
    known, recorded = _unchanged_on_disk(cache, stats)
    digests: dict[PurePosixPath, str | None] = {}
    diagnostics: list[Diagnostic] = []
    for rel in index.notes:
        digest = known.get(rel.as_posix())
        if digest is None and recorded:  # read to look its split up; read again if missing
            try:
                digest = _text_digest(read_note(index.root, rel))
            except NoteError as e:
                diagnostics.append(_bad_note(e, config))
                continue
        digests[rel] = digest
    parsed = _parse_all(index, digests, rules, config, cache)
    _remember_reads(cache, stats, digests)
    notes: list[Note] = []
    left_out = 0
    for result in parsed.values():
        if isinstance(result, Diagnostic):
            diagnostics.append(result)
            continue
        note, problems = result
        if note.excluded or (config.published_only and not note.published):
            left_out += 1
            continue
        notes.append(note)
        diagnostics += problems
    found = {note.rel: digest for note in notes if (digest := digests[note.rel]) is not None}
    return notes, found, left_out, tuple(diagnostics)


def _text_digest(source: SourceFile) -> str:
    return hashlib.sha256(source.text.encode("utf-8", "surrogatepass")).hexdigest()


def _unchanged_on_disk(cache: RenderCache | None, stats: FileStats | None
                       ) -> tuple[dict[str, str], bool]:
    """Text digest of each note whose size and modification time are still those it had when
    the last build read it (and well before that read); and whether the cache records any
    build's reads at all (if not, it holds no note's split either)."""
    if cache is None:
        return {}, False
    cache.load([SOURCES_KEY])
    record = cache.get(SOURCES_KEY)
    if not isinstance(record, tuple) or len(record) != 2:
        return {}, False
    if stats is None:  # a file could not be looked at: every note is read
        return {}, True
    taken_at, seen = record
    found = {}
    for rel, stat in stats.files.items():
        before = seen.get(rel.as_posix())
        if before is not None and before[:2] == stat and settled(stat[1], taken_at):
            found[rel.as_posix()] = before[2]
    return found, True


def _remember_reads(cache: RenderCache | None, stats: FileStats | None,
                    digests: Mapping[PurePosixPath, str | None]) -> None:
    if cache is not None and stats is not None:
        cache.put(SOURCES_KEY, (stats.taken_at, {
            rel.as_posix(): (*stats.files[rel], digest)
            for rel, digest in digests.items() if digest is not None and rel in stats.files}))


Parsed = tuple[Note, tuple[Diagnostic, ...]]


def _parse_all(index: VaultIndex, digests: dict[PurePosixPath, str | None],
               rules: HeadingRules, config: Config, cache: RenderCache | None
               ) -> dict[PurePosixPath, Parsed | Diagnostic]:
    """Each note split, or the diagnostic that says why it cannot be: from the cache where
    the text and rules are unchanged, else read and split on every core. A note of unknown
    digest gets it here (in `digests`), from the text the worker read."""
    context = digest_of(("parse", code_digest(), repr(rules)))

    def key(rel: PurePosixPath, digest: str) -> str:
        return digest_of((context, rel.as_posix(), digest))

    rels = list(digests)
    keys = {rel: key(rel, digest) for rel, digest in digests.items() if digest is not None}
    # Each note's sections go into a temporary file as it comes (see `SectionSpill`).
    spill = new_spill()
    parsed: dict[PurePosixPath, Parsed | Diagnostic | None] = {
        **dict.fromkeys(rels), **_cached(cache, keys, spill)}

    def parse(n: int) -> tuple[str | None, Parsed | Diagnostic]:
        try:
            source = read_note(index.root, rels[n])
            return _text_digest(source), parse_note(source, rules)
        except NoteError as e:
            return None, _bad_note(e, config)

    missing = [n for n, rel in enumerate(rels) if parsed[rel] is None]
    for n, (entry, pickled) in zip(missing, forked_map(parse, missing), strict=True):
        rel = rels[n]
        digest, result = entry
        if digest is not None:
            digests[rel] = digest
            if cache is not None and not isinstance(result, Diagnostic):
                cache.put(key(rel, digest), pickled or entry)
        parsed[rel] = _spilled(result, spill)
    if spill is not None:
        spill.flush()
    return {rel: result for rel, result in parsed.items() if result is not None}


def _cached(cache: RenderCache | None, keys: Mapping[PurePosixPath, str],
            spill: SectionSpill | None) -> dict[PurePosixPath, Parsed | Diagnostic]:
    """The splits the cache holds, by note. Entries are (digest, split): what a worker sends
    back, stored as it sent it."""
    if cache is None:
        return {}
    cache.load(keys.values())
    found = {}
    for rel, key in keys.items():
        entry = cache.get(key)
        if entry is not None:
            found[rel] = _spilled(entry[1], spill)
    return found


def _spilled(result: Parsed | Diagnostic, spill: SectionSpill | None) -> Parsed | Diagnostic:
    """The note with its sections in `spill`."""
    if isinstance(result, Diagnostic):
        return result
    note, problems = result
    return spilled(note, spill), problems


def _bad_note(error: NoteError, config: Config) -> Diagnostic:
    """An unreadable note fails the build, unless --keep-going (or it is not a note at all:
    binary, or too large)."""
    skip = config.keep_going or isinstance(error, NotANote)
    return Diagnostic(error.path, error.line, Level.WARNING if skip else Level.ERROR, "bad-note",
                      error.message + (" (skipped)" if skip else ""))


def assign_identities(notes: Sequence[Note],
                      read_owners: Callable[[], Mapping[str, frozenset[str]]] | None = None
                      ) -> tuple[dict[PurePosixPath, str], tuple[Diagnostic, ...]]:
    """Each note's identity is its permalink; notes sharing one get a more specific identity
    (permalink + dg-path, else + vault path) so no card is merged into another note's.

    `read_owners` (reads the last build's manifest: identity → files that shipped cards
    under it) lets a note keep the identity it had (`_shared_identities`), with its cards and
    their reviews: a copy of a note (Obsidian's "Make a copy") does not retire the original's
    cards, and a note moved to another `dg-path` keeps its cards. Called only where notes
    share a permalink: it reads every card of the manifest, which most builds need not."""
    by_permalink: dict[str, list[Note]] = defaultdict(list)
    for note in notes:
        by_permalink[note.permalink].append(note)
    identities: dict[PurePosixPath, str] = {}
    diagnostics: list[Diagnostic] = []
    shared = any(len(group) > 1 for group in by_permalink.values())
    owned = read_owners() if read_owners is not None and shared else {}
    pathless: list[PurePosixPath] = []
    for permalink, group in by_permalink.items():
        if len(group) == 1:
            identities[group[0].rel] = permalink
            if group[0].permalink_from == "path":
                pathless.append(group[0].rel)
            continue
        identities.update(_shared_identities(permalink, group, owned))
        diagnostics += _grouped(
            [n.rel for n in group], "duplicate-permalink",
            f"notes share the permalink {permalink}",
            "each keeps its own cards, but give each a permalink (or dg-permalink) of its own, "
            "so that their cards' IDs do not depend on their paths",
            f"shares the permalink {permalink} with {len(group) - 1} other "
            + ("note" if len(group) == 2 else "notes"))
    if len(pathless) == 1:
        diagnostics.append(Diagnostic(
            Path(pathless[0]), None, Level.WARNING, "no-permalink",
            "note has no permalink, dg-permalink or dg-path: its cards' IDs follow the file "
            "path, so moving or renaming it makes new cards; add a `permalink`"))
    else:
        diagnostics += _grouped(
            pathless, "no-permalink", "notes have no permalink, dg-permalink or dg-path",
            "their cards' IDs follow their file paths, so moving or renaming one makes new "
            "cards; add a `permalink` to each to keep them",
            "no permalink: its cards' IDs follow its path")
    return identities, tuple(diagnostics)


def _shared_identities(permalink: str, group: Sequence[Note],
                       owned: Mapping[str, frozenset[str]]) -> dict[PurePosixPath, str]:
    """Identities for notes sharing a permalink. A note keeps the identity its file's cards
    were last shipped under (the plain permalink, for the note that had it first) where it
    alone had it: a copy does not take the original's cards, and a note given another
    `dg-path` keeps its cards and only changes deck. Any other note gets the permalink +
    its `dg-path` (unique in the group), else + its vault path."""
    shipped: dict[str, list[str]] = {}  # file → identities of this permalink it shipped under
    for identity, files in owned.items():
        if identity == permalink or identity.startswith(permalink + "|"):
            for file in files:
                shipped.setdefault(file, []).append(identity)
    claims = [was[0] for n in group if len(was := shipped.get(n.rel.as_posix(), [])) == 1]
    found: dict[PurePosixPath, str] = {}
    for note in group:
        before = shipped.get(note.rel.as_posix(), [])
        if len(before) == 1 and claims.count(before[0]) == 1:
            found[note.rel] = before[0]
    taken = set(found.values())
    dg_paths = [n.dg_path for n in group]
    for note in group:
        if note.rel not in found:
            unique = note.dg_path and dg_paths.count(note.dg_path) == 1
            fresh = f"{permalink}|{note.dg_path if unique else note.rel.as_posix()}"
            if fresh in taken:  # a note's old identity, kept
                fresh = f"{permalink}|{note.rel.as_posix()}"
            found[note.rel] = fresh
            taken.add(fresh)
    return found


SHOWN_IN_A_GROUP = 3
"""Files a grouped warning names; `-v` lists every one (see `_grouped`)."""


def _grouped(files: Sequence[PurePosixPath], code: str, what: str, advice: str, each: str
             ) -> list[Diagnostic]:
    """One warning for several notes that share a problem, naming the first few (one garden
    has 310 notes on one permalink: a warning per note naming every other made 7 MB of
    output), and a line per note that only `-v` shows."""
    if not files:
        return []
    shown = tuple(Path(f) for f in files[:SHOWN_IN_A_GROUP])
    named = ", ".join(f"{{file{number}}}" for number in range(len(shown)))
    if len(files) > SHOWN_IN_A_GROUP:
        named += f" and {len(files) - SHOWN_IN_A_GROUP} more (-v lists them)"
    return [Diagnostic(None, None, Level.WARNING, code, f"{len(files)} {what}: {named}; {advice}",
                       shown),
            *(Diagnostic(Path(f), None, Level.INFO, code, each) for f in files)]
