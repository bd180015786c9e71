"""Turn a parsed note into cards: question, rendered answer, source, deck, tags and GUID.

The notetype is a property of each card, so a cloze section and a basic section of the same
note can sit side by side.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path, PurePosixPath

from . import escape
from .cloze import KEY_SUFFIX, OFF, ClozeScan, ClozeText, protect
from .cloze_numbers import number_clozes
from .errors import Diagnostic, Level
from .ids import note_guid
from .notetypes import basic_notetype, cloze_notetype, reversed_notetype
from .package import NoteType, Review
from .parse import Note, Section
from .render import (
    LinkTargets,
    Rendered,
    RenderState,
    page_url,
    render_inline,
    render_markdown,
)
from .srcards import BASIC, REVERSED, SrCard


@dataclass(frozen=True, slots=True)
class CardSettings:
    """The settings a note's cards depend on (besides the vault's other notes)."""

    question_format: str  # "{title} — {heading}"
    root_deck: str | None
    tags: tuple[str, ...] = ()  # added to every card
    folder_tags: bool = False  # tag each card with its note's folder path
    cloze: str | None = None  # `cloze.MODES`: ==highlights== as clozes; `anki-cloze` wins
    top_deck: str = "Default"  # the deck of notes at the vault's top: the vault's name
    max_answer_words: int = 300  # a longer answer is warned about (`long-answer`); 0: never


@dataclass(frozen=True, slots=True)
class Card:
    """One Anki note to be: its identity, notetype, deck, fields, tags and media."""

    guid: str
    key: str  # "<identity>#<section key>": what the manifest and reports call this card
    notetype: NoteType
    deck: str  # "Parent::Child"
    fields: tuple[str, ...]  # sanitised HTML, in the notetype's field order
    tags: tuple[str, ...]
    media: tuple[PurePosixPath, ...]  # vault files the fields show
    source: PurePosixPath  # for file:line in messages
    line: int
    cloze: ClozeText | None = None  # a cloze note's Text before numbering: `fields` hold the
    # numbers a first build gives; the build manifest re-numbers the highlights (plan_release)
    reviews: tuple[Review | None, ...] = ()  # review state of its cards (Spaced Repetition)


def deck_name(note: Note, root_deck: str | None) -> str:
    """Deck path from the note's folders under the optional root deck; `::` inside a folder name
    would nest, so it is written as a single colon, and a colon at a folder name's edge would
    run into the `::` between two names (`a:` then `:b` is `a::::b`), so it is dropped there."""
    parts = [p.replace("::", ":") for p in note.folders]
    if root_deck:
        parts[:0] = [p.strip() for p in root_deck.split("::") if p.strip()]
    last = len(parts) - 1
    parts = [p.lstrip(": " if i else "").rstrip(": " if i < last else "")
             for i, p in enumerate(parts)]
    return "::".join(p for p in parts if p) or "Default"


@dataclass(frozen=True, slots=True)
class Pins:
    """The key of each pinned section (`<identity>#^<id>`) → the GUID the build manifest bound
    it to (see `card_guid`), and the set of those GUIDs, which every card is looked up in."""

    by_key: Mapping[str, str] = field(default_factory=dict)
    guids: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "guids", frozenset(self.by_key.values()))


def note_cards(note: Note, identity: str, settings: CardSettings, targets: LinkTargets | None,
               pins: Pins) -> tuple[tuple[Card, ...], tuple[Diagnostic, ...]]:
    """Every card of one note, with the warnings its rendering raised."""
    # A note at the vault's top goes to a deck named after the vault, not to Anki's Default,
    # where nobody would look for it.
    deck = deck_name(note, settings.root_deck or (None if note.folders else settings.top_deck))
    folders = deck.split("::") if deck != "Default" else []
    # A folder note (`Myeloma/Myeloma.md`) is its folder's deck: its title is not repeated.
    trail = folders if folders and folders[-1] == note.title else [*folders, note.title]
    breadcrumb = escape.field(html.escape(" › ".join(trail)))
    source = escape.field(_source_html(note, targets.site_url if targets else None))
    tags = _note_tags(note, settings)
    highlights = note.cloze or settings.cloze or OFF
    cards = []
    title = _title_html(note, targets)
    diagnostics: list[Diagnostic] = list(title.diagnostics)
    for section in note.sections:
        question = _question(note, section, title.html, settings.question_format, targets)
        body = section.body
        if cited := note.definitions.cited(body):  # footnotes and links defined elsewhere
            body = f"{body}\n\n{cited}"
        answer = render_markdown(body, RenderState(
            note.rel, section.body_line, targets, clozes=ClozeScan(highlights)))
        diagnostics += [*question.diagnostics, *answer.diagnostics,
                        *answer_problems(note, section, answer.html, settings.max_answer_words)]
        key, guid = card_guid(identity, section, pins, cloze=answer.clozes is not None)
        card = Card(
            guid=guid,
            key=key,
            notetype=basic_notetype(),
            deck=deck,
            fields=(question.html, answer.html, source, breadcrumb),  # each as `escape.field`
            tags=tuple(sorted({*tags, *question.tags, *answer.tags})),
            media=tuple(dict.fromkeys([*question.media, *answer.media])),
            source=note.rel,
            line=section.line,
        )
        cards.append(card if answer.clozes is None else _cloze_card(card, answer.clozes))
    for sr_card in note.sr_cards:
        made, problems = _sr_card(note, identity, sr_card, settings, targets,
                                  (deck, source, breadcrumb, tags))
        cards.append(made)
        diagnostics += problems
    return tuple(cards), tuple(diagnostics)


def answer_problems(note: Note, section: Section, answer: str, max_words: int
                    ) -> list[Diagnostic]:
    """What makes a card one a student would not want: an answer that shows nothing (a
    section that held only a remote video, shown as a link, say), only links (a page of
    links to other notes), or more words than anyone recalls at once."""
    shown = html.unescape(_TAG.sub(" ", _REMOTE_EMBED.sub(" ", answer)))
    if "<img" not in answer and not any(c.isalnum() for c in shown):
        return [_problem(note, section, "empty-answer", "the answer shows nothing (what the "
                         "section holds is not shown on a card, or is only a remote file); "
                         "write the answer, or remove the section")]
    rest, links = _LINKS.subn(" ", section.body)
    if links and "<img" not in answer and not any(
            c.isalnum() for c in _LIST_MARKER.sub("", rest)):
        return [_problem(note, section, "only-links", "the answer is only links, nothing to "
                         "recall; write what they lead to, or name the heading in "
                         "--skip-heading")]
    words = len(html.unescape(_TAG.sub(" ", answer)).split())
    if max_words and words > max_words:
        return [_problem(note, section, "long-answer", f"the answer has {words} words, over "
                         f"{max_words}: split the section into smaller ones (or raise "
                         "--max-answer-words)")]
    return []


def repeated_questions(cards: Sequence[Card], seen: dict[int, tuple[str, int]]
                       ) -> list[Diagnostic]:
    """A warning for each card whose question an earlier note's card in the same deck has:
    the student cannot tell which answer is asked for (Anki, too, flags such a note as a
    duplicate). `seen` holds (file, line) of each question so far, by a hash of its deck
    and text, not the text: a build sees every card once, and keeps no card."""
    found = []
    for card in cards:
        if card.cloze is not None:  # its first field is the whole text, not a question
            continue
        source = card.source.as_posix()
        first = seen.setdefault(hash((card.deck, card.fields[0].casefold())),
                                (source, card.line))
        if first[0] != source:  # within a note: `duplicate-heading` says it
            found.append(Diagnostic(
                Path(card.source), card.line, Level.WARNING, "duplicate-question",
                f"the same question as {{file0}}:{first[1]}, in the same deck {card.deck}; "
                "reword one, or give the notes distinct titles", (Path(first[0]),)))
    return found


def _problem(note: Note, section: Section, code: str, message: str) -> Diagnostic:
    return Diagnostic(Path(note.rel), section.line, Level.WARNING, code, message)


_TAG = re.compile(r"<[^>]*>")
_REMOTE_EMBED = re.compile(r'<a class="ae-remote-image"[^>]*>.*?</a>', re.S)
"""A remote image or video (`![](https://…)`): a link on the card, nothing to study."""
_LINKS = re.compile(r"(?<!!)\[\[[^\]\n]*\]\]|(?<!!)\[[^\]\n]*\]\([^)\n]*\)"
                    r"|<?https?://[^\s>]+>?")
"""Wiki-links, Markdown links and bare URLs, not embeds (`![[Other]]` shows its note)."""
_LIST_MARKER = re.compile(r"^[ \t]*(?:[-*+]|\d+[.)])[ \t]+", re.M)


def _sr_card(note: Note, identity: str, sr_card: SrCard, settings: CardSettings,
             targets: LinkTargets | None, shared: tuple[str, str, str, tuple[str, ...]]
             ) -> tuple[Card, tuple[Diagnostic, ...]]:
    """A Spaced Repetition plugin card, rendered like a section: each side through the same
    renderer; a cloze item's deletions (already Anki's `{{cN::…}}`) as a cloze note, with the
    note's title as its context. Its deck is its flashcard tag's path under the root deck,
    else the note's deck."""
    deck, source, breadcrumb, tags = shared
    if sr_card.deck is not None:
        root = [p.strip() for p in (settings.root_deck or "").split("::") if p.strip()]
        deck = "::".join([*root, *(p.replace("::", ":") for p in sr_card.deck)])
    key = f"{identity}#sr:{sr_card.key}"
    front = render_markdown(sr_card.front, RenderState(
        note.rel, sr_card.line, targets, clozes=None if sr_card.kind in (BASIC, REVERSED)
        else ClozeScan(OFF)))
    back = render_markdown(sr_card.back, RenderState(note.rel, sr_card.line, targets,
                                                     clozes=None))
    question = html.escape(note.title) if front.clozes is not None else front.html
    card = Card(
        guid=note_guid(identity, f"sr:{sr_card.key}"),
        key=key,
        notetype=reversed_notetype() if sr_card.kind == REVERSED else basic_notetype(),
        deck=deck,
        fields=tuple(escape.field(f) for f in (question, front.html if front.clozes is None
                                                     else "", source, breadcrumb)),
        tags=tuple(sorted({*tags, *front.tags, *back.tags})),
        media=tuple(dict.fromkeys([*front.media, *back.media])),
        source=note.rel,
        line=sr_card.line,
        reviews=sr_card.reviews,
    )
    if front.clozes is not None:
        card = _cloze_card(card, front.clozes)
    else:
        card = replace(card, fields=(card.fields[0], escape.field(back.html),
                                     *card.fields[2:]))
    return card, (*front.diagnostics, *back.diagnostics)


def _cloze_card(card: Card, text: ClozeText) -> Card:
    """The basic card's content as a cloze note: the question (note title and heading) becomes
    the context at the top of Text, and no field but Text may hold a cloze marker."""
    question, _, source, breadcrumb = card.fields
    text = replace(text, context=protect(f'<div class="ae-question">{question}</div>'))
    fields = (text.fill(number_clozes(text).highlights), "", protect(source), protect(breadcrumb))
    return replace(card, notetype=cloze_notetype(), fields=fields, cloze=text)


def _note_tags(note: Note, settings: CardSettings) -> tuple[str, ...]:
    tags = {*note.tags, *(t.strip().replace("/", "::").replace(" ", "_")
                          for t in settings.tags if t.strip())}
    if settings.folder_tags and note.folders:
        tags.add("::".join(f.replace(" ", "_") for f in note.folders))
    return tuple(sorted(tags))


def card_guid(identity: str, section: Section, pins: Pins, *,
              cloze: bool = False) -> tuple[str, str]:
    """(card key, GUID). A pinned heading keeps the GUID its pin was first bound to, so the
    heading can be reworded; pinning an existing heading binds the pin to the GUID it already
    had. An unpinned heading whose GUID a pin still holds (the old wording of a pinned,
    reworded heading, written again) gets a GUID of its own. A cloze section has a key and
    GUID apart from its basic form (`cloze.KEY_SUFFIX`): Anki never changes a note's notetype."""
    suffix = KEY_SUFFIX if cloze else ""
    from_heading = note_guid(identity, section.key + suffix)
    key = (f"{identity}#^{section.pin}{suffix}" if section.pin is not None
           else f"{identity}#{section.key}{suffix}")
    pinned = pins.by_key.get(key)
    if pinned is not None:
        return key, pinned
    if from_heading in pins.guids:  # held by another pin: the old wording, written again
        return key, note_guid(identity, section.key + suffix + "~unpinned")
    return key, from_heading


def _title_html(note: Note, targets: LinkTargets | None) -> Rendered:
    """The note's title as its questions show it: a `# heading` title as Markdown (its math
    as math), a name from the frontmatter or the file as plain text."""
    if note.title_line:
        return render_inline(note.title, RenderState(note.rel, note.title_line, targets,
                                                     clozes=None))
    return Rendered(html.escape(note.title), (), ())


def _question(note: Note, section: Section, title: str, question_format: str,
              targets: LinkTargets | None) -> Rendered:
    """The heading as the question, or in `question_format`: a setting from a file that may be
    someone else's, so the formatted question is sanitised as an answer is (keeping only the
    heading's images), unless the format is plain text. An intro's question is the title."""
    if section.is_intro:
        return Rendered(title, (), ())
    state = RenderState(note.rel, section.line, targets, clozes=None)
    heading = render_inline(" › ".join(section.path), state)
    if section.heading.endswith("?"):
        return heading
    text = question_format.format(title=title, heading=heading.html)
    return state.result(text, clean=_is_plain(question_format))


@cache
def _is_plain(question_format: str) -> bool:
    """Whether the format's own text holds no markup: then the question is as safe as its
    parts, an escaped title and a sanitised heading, and sanitising it again (for every card)
    would change nothing a card shows."""
    literal = question_format.format(title="", heading="")
    return escape.text(literal) == literal


def _source_html(note: Note, site_url: str | None) -> str:
    title = html.escape(note.title)
    if site_url:
        url = html.escape(page_url(site_url, note.permalink), quote=True)
        return f'<a href="{url}">{title}</a>'
    return f"{title} · <code>{html.escape(note.permalink)}</code>"
