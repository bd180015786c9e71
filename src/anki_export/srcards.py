"""Cards written in the Obsidian Spaced Repetition plugin's syntax, with their review state.

A port of the plugin's line rules (its `src/parser.ts`, and how `note-question-parser.ts` turns
a card's text into sides, deck and schedule), so that a vault reviewed in the plugin gives the
same cards here: `Q::A`, reversed `Q:::A`, multi-line cards around a `?` (reversed `??`) line,
ending at a blank line or the configured end marker, and clozes in the enabled patterns
(clozecraft's `==[123;;]answer[;;hint]==` syntax). The plugin's settings come from the vault's
`.obsidian/plugins/obsidian-spaced-repetition/data.json`; its defaults where absent.

The note's text that these cards consume is blanked out (line numbers kept) before the note is
split into heading sections, so no text becomes two cards.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path

from .errors import Diagnostic, Level
from .package import Review

SETTINGS_FILE = ".obsidian/plugins/obsidian-spaced-repetition/data.json"
BASIC, REVERSED, CLOZE = "basic", "reversed", "cloze"
_SR_COMMENT = "<!--SR:"
_METADATA_CALLOUT = "> [!sr|card-metadata]"
_NEW_CARD_DATE = date(2000, 1, 1)  # the plugin's "not reviewed yet" among reviewed siblings


@dataclass(frozen=True, slots=True)
class SrSettings:
    """The plugin settings that decide what is a card (names as in its `settings.ts`)."""

    flashcard_tags: tuple[str, ...] = ("#flashcards",)
    convert_folders_to_decks: bool = False  # every note's cards, decks from its folders
    cloze_patterns: tuple[str, ...] = ("==[123;;]answer[;;hint]==",)
    single_line: str = "::"
    single_line_reversed: str = ":::"
    multiline: str = "?"
    multiline_reversed: str = "??"
    end_marker: str = ""


def load_settings(text: str | None) -> tuple[SrSettings, tuple[Diagnostic, ...]]:
    """The vault's plugin settings (`text` of its data.json, None when absent) over defaults;
    a file that cannot be read as the plugin writes it is a warning, and the defaults hold."""
    if text is None:
        return SrSettings(), ()
    path = Path(SETTINGS_FILE)  # named from the vault, as its notes are
    try:
        data = json.loads(text)
        raw = data.get("settings", {}) if isinstance(data, dict) else None
        if not isinstance(raw, dict):
            raise ValueError("no `settings` object")
        settings = _settings(raw)
    except RecursionError:
        return SrSettings(), (Diagnostic(path, None, Level.WARNING, "sr-settings",
                                         "the Spaced Repetition plugin's settings are nested "
                                         "too deeply to read; its defaults are used"),)
    except (ValueError, TypeError) as e:
        return SrSettings(), (Diagnostic(path, None, Level.WARNING, "sr-settings",
                                         f"the Spaced Repetition plugin's settings cannot be "
                                         f"read ({e}); its defaults are used"),)
    bad = [p for p in settings.cloze_patterns if _pattern(p) is None]
    problems = tuple(Diagnostic(path, None, Level.WARNING, "sr-settings",
                                f"cloze pattern {p!r} names no `answer`, number `[123]` or "
                                "hint `[hint]`; it is ignored") for p in bad)
    return settings, problems


def _settings(raw: Mapping[str, object]) -> SrSettings:
    default = SrSettings()

    def text(key: str, fallback: str) -> str:
        value = raw.get(key, fallback)
        if not isinstance(value, str):
            raise TypeError(f"`{key}` is not a string")
        return value

    def texts(key: str) -> tuple[str, ...] | None:
        value = raw.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise TypeError(f"`{key}` is not a list of strings")
        return tuple(value)

    patterns = texts("clozePatterns")
    if patterns is None:  # settings from before clozePatterns: the plugin's upgrade
        patterns = tuple(p for key, p in (
            ("convertHighlightsToClozes", "==[123;;]answer[;;hint]=="),
            ("convertBoldTextToClozes", "**[123;;]answer[;;hint]**"),
            ("convertCurlyBracketsToClozes", "{{[123;;]answer[;;hint]}}"))
            if raw.get(key, key == "convertHighlightsToClozes") is True)
    return SrSettings(
        flashcard_tags=texts("flashcardTags") or default.flashcard_tags,
        convert_folders_to_decks=raw.get("convertFoldersToDecks") is True,
        cloze_patterns=patterns,
        single_line=text("singleLineCardSeparator", default.single_line),
        single_line_reversed=text("singleLineReversedCardSeparator",
                                  default.single_line_reversed),
        multiline=text("multilineCardSeparator", default.multiline),
        multiline_reversed=text("multilineReversedCardSeparator", default.multiline_reversed),
        end_marker=text("multilineCardEndMarker", default.end_marker),
    )


# Clozes: clozecraft's patterns, as regular expressions --------------------------------------

@dataclass(frozen=True, slots=True)
class _Pattern:
    simple: re.Pattern[str]  # `==answer==`, `==answer;;hint==`
    classic: re.Pattern[str]  # `==2;;answer==`: numbered
    opening: str  # the literal text before the number, hint and answer (`==`)
    closing: str  # and after them (`==`)

    def finditer(self, text: str, *, classic: bool) -> Iterator[re.Match[str]]:
        """The deletions in `text`, as `re.finditer` of the pattern finds them (lazily, left
        to right), but each tried only on the text from an opening to the first closing after
        it: searched over a whole line, the lazy answer and hint retried every end, which took
        seconds for a line of a few KB with an opening and no closing."""
        pattern = self.classic if classic else self.simple
        at = 0
        while (start := text.find(self.opening, at)) >= 0:
            end = text.find(self.closing, start + len(self.opening))
            if end < 0:
                return
            found = pattern.fullmatch(text, start, end + len(self.closing))
            if found is None:
                at = start + 1
                continue
            yield found
            at = found.end()

    def search(self, text: str, *, classic: bool) -> bool:
        return next(self.finditer(text, classic=classic), None) is not None


_NUM = re.compile(r"\[(?:(?:\\\])?[^\]]?)+?\d+(?:(?:\\\])?[^\]]?)+?\]")
_HINT = re.compile(r"\[(?:(?:\\\])?[^\]]?)+?hint(?:(?:\\\])?[^\]]?)+?\]")
_PATTERNS: dict[str, _Pattern | None] = {}


def _pattern(raw: str) -> _Pattern | None:
    """clozecraft's `ClozePattern`: `[…123…]` is the optional number, `[…hint…]` the optional
    hint, `answer` the hidden text."""
    if raw not in _PATTERNS:
        num, hint = _NUM.search(raw), _HINT.search(raw)
        if num is None or hint is None or "answer" not in raw:
            _PATTERNS[raw] = None
        else:
            def inner(m: re.Match[str], word: str, group: str) -> str:
                text = re.escape(m.group(0)[1:-1].replace("\\[", "[").replace("\\]", "]"))
                return re.sub(word, group, text)

            hint_re = "(?:" + inner(hint, "hint", "(?P<hint>.+?)") + ")?"
            seq_re = inner(num, r"\\d+|\d+", "(?P<seq>\\\\d+)")

            def regex(num_re: str) -> re.Pattern[str]:
                parts = sorted([(num, num_re), (hint, hint_re)], key=lambda p: p[0].start())
                (first, first_re), (second, second_re) = parts
                text = (re.escape(raw[:first.start()]) + first_re
                        + re.escape(raw[first.end():second.start()]) + second_re
                        + re.escape(raw[second.end():]))
                return re.compile(text.replace("answer", "(?P<answer>.+?)", 1))

            first, last = min(num.start(), hint.start()), max(num.end(), hint.end())
            answer = raw.find("answer")
            if raw[:first] and raw[last:] and first < answer < last:
                _PATTERNS[raw] = _Pattern(regex(""), regex(seq_re), raw[:first], raw[last:])
            else:  # `answer` outside the brackets, or no text around them: none we can read
                _PATTERNS[raw] = None
    return _PATTERNS[raw]


def _patterns(settings: SrSettings) -> list[_Pattern]:
    return [p for raw in settings.cloze_patterns if (p := _pattern(raw)) is not None]


def cloze_markdown(text: str, settings: SrSettings) -> str | None:
    """The card's text with each deletion as Anki's `{{cN::answer::hint}}`: numbered as the
    plugin numbers its cards (clozecraft): by the written number where any deletion has one
    (then only numbered ones hide), else one card per deletion, pattern by pattern in the
    order the settings list them. None if no deletion is found."""
    patterns = _patterns(settings)
    classic = any(p.search(text, classic=True) for p in patterns)
    found: list[tuple[int, int, int, str, str | None]] = []  # start, end, number, answer, hint
    for p in patterns:
        for m in p.finditer(text, classic=classic):
            number = int(m.group("seq")) if classic else len(found) + 1
            found.append((m.start(), m.end(), number, m.group("answer"), m.group("hint")))
    if not found:
        return None
    out, at = [], 0
    for start, end, number, answer, hint in sorted(found):
        if start < at:  # inside another pattern's deletion
            continue
        answer = answer.replace("::", "\\::")
        out += [text[at:start], f"{{{{c{number}::{answer}" + (f"::{hint}" if hint else "") + "}}"]
        at = end
    return "".join([*out, text[at:]])


# The plugin's line rules (parser.ts) ----------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Item:
    """One card item as the plugin's parser finds it (a reversed item or a cloze gives several
    Anki cards): its kind, raw text, and 0-based first and last line in the parsed text."""

    kind: str  # BASIC, REVERSED or CLOZE
    multiline: bool
    text: str
    first: int
    last: int


def _inline_marker(line: str, marker: str) -> bool:
    """The marker is in the line and not inside `inline code` (odd backticks either side)."""
    at = line.find(marker) if marker else -1
    if at < 0:
        return False
    return not (line[:at].count("`") % 2 == 1 and line[at + len(marker):].count("`") % 2 == 1)


def parse_items(text: str, settings: SrSettings) -> tuple[list[Item], list[int]]:
    """The card items of `text`, as the plugin's `parse` finds them, and the 0-based lines of
    multi-line separators with no question above (which the plugin silently ignores).

    One difference, on purpose: an HTML comment spanning lines hides the lines up to its
    `-->`; the plugin's loop never leaves such a comment and hides the rest of the note."""
    inline = sorted([(settings.single_line, BASIC), (settings.single_line_reversed, REVERSED)],
                    key=lambda s: -len(s[0]))
    patterns = _patterns(settings)
    lines = text.replace("\r\n", "\n").split("\n")
    items: list[Item] = []
    orphans: list[int] = []
    card, kind, multiline, first = "", None, False, 0
    i = 0
    while i < len(lines):
        line, trimmed = lines[i], lines[i].strip()
        if line.startswith("<!--") and not line.startswith(_SR_COMMENT):
            i = _comment_end(lines, i) + 1
            continue
        if _ends_card(trimmed, kind is not None, settings):
            items += [Item(kind, multiline, card.rstrip(), first, i - 1)] if kind else []
            card, kind, multiline, first = "", None, False, i + 1
            i += 1
            continue
        card = f"{card}\n{line.rstrip()}" if card else line.rstrip()
        single = next((k for marker, k in inline if _inline_marker(line, marker)), None)
        if single is not None:
            last = _schedule_end(lines, i)
            items.append(Item(single, False, "\n".join(lines[i:last + 1]), i, last))
            card, kind, multiline, i = "", None, False, last
        elif trimmed and trimmed in (settings.multiline, settings.multiline_reversed):
            orphans += [i] if card.strip() == trimmed else []
            if len(card) > 1:  # as the plugin: the text so far, this line included
                kind, multiline = BASIC if trimmed == settings.multiline else REVERSED, True
        elif line.startswith(("```", "~~~")):
            fence = line[:len(line) - len(line.lstrip(line[0]))]
            last = _fence_end(lines, i, fence)
            card = "\n".join([card, *lines[i + 1:last + 1], fence])
            i = last + 1
        elif kind is None and any(p.search(line, classic=False) for p in patterns):
            kind, multiline = CLOZE, True
        i += 1
    if kind is not None and card:
        items.append(Item(kind, multiline, card.rstrip(), first, len(lines) - 1))
    return items, orphans


def _ends_card(trimmed: str, in_card: bool, settings: SrSettings) -> bool:
    """A blank line ends a card, unless an end marker is set and a card is being read; the
    end marker's line always does."""
    if settings.end_marker and trimmed == settings.end_marker:
        return True
    return not trimmed and (not settings.end_marker or not in_card)


def _comment_end(lines: Sequence[str], i: int) -> int:
    """The line that closes the HTML comment opened on line `i` (or the last line)."""
    while i + 1 < len(lines) and "-->" not in lines[i]:
        i += 1
    return i


def _schedule_end(lines: Sequence[str], i: int) -> int:
    """The last line of the single-line card on line `i`: its `<!--SR:` line, or the plugin's
    metadata callout up to the line holding the schedule, when one follows."""
    if i + 1 < len(lines) and lines[i + 1].startswith(_SR_COMMENT):
        return i + 1
    if i + 1 < len(lines) and lines[i + 1].startswith(_METADATA_CALLOUT):
        i += 1
        while _SR_COMMENT not in lines[i] and i + 1 < len(lines):
            i += 1
    return i


def _fence_end(lines: Sequence[str], i: int, fence: str) -> int:
    """The last line inside the code fence opened on line `i`; the plugin closes it at the
    next line starting with the same run of backticks or tildes."""
    while i + 1 < len(lines) and not lines[i + 1].startswith(fence):
        i += 1
    return i


# A note's items as cards: sides, deck, identity, review state -------------------------------

@dataclass(frozen=True, slots=True)
class SrCard:
    """One plugin card item of a note, ready to render: one Anki note (a reversed item has two
    cards, a cloze one per deletion)."""

    kind: str  # BASIC, REVERSED or CLOZE
    front: str  # Markdown; a cloze's text, with Anki's `{{cN::…}}` deletions
    back: str  # Markdown; "" for a cloze
    key: str  # within the note: kind and block id, else kind and normalised question
    deck: tuple[str, ...] | None  # from its flashcard tag (`#flashcards/a/b` → a, b), or None
    line: int  # 1-based line in the file
    reviews: tuple[Review | None, ...]  # the plugin's state of each card, in card order


_TAG = re.compile(r"(?:^|(?<=[\s(]))#([^\s#,;:!?()\[\]{}\"'`|]+)")
_BLOCK_ID = re.compile(r" (\^[a-zA-Z0-9-]+)$")
_SCHEDULE = re.compile(r"<!--SR:.+-->")
_DELETION = re.compile(r"\{\{c\d+::.*?\}\}")


def note_cards(body: str, offset: int, frontmatter_tags: Sequence[str], rel: Path,
               settings: SrSettings) -> tuple[tuple[SrCard, ...], str, tuple[Diagnostic, ...]]:
    """The plugin's cards of a note body (`offset` lines after the file's start), the body with
    their lines (and lines holding only flashcard tags) blanked, and warnings for items that
    cannot work. A note without a flashcard tag has none, unless the plugin takes decks from
    folders: then every note is read."""
    lines = body.split("\n")
    tags = _flashcard_tags(lines, frontmatter_tags, settings)
    if not tags and not settings.convert_folders_to_decks:
        return (), body, ()
    items, orphans = parse_items(body, settings)
    diagnostics = [Diagnostic(rel, offset + n + 1, Level.WARNING, "sr-no-question",
                              "a multi-line card separator with no question above it gives "
                              "no card; write the question on the lines before it")
                   for n in orphans]
    cards: list[SrCard] = []
    taken: set[str] = set()
    consumed: set[int] = set()
    for item in items:
        consumed.update(range(item.first, item.last + 1))
        card = _card(item, tags, offset, settings)
        if card is None:
            continue
        if not card.front.strip() or (card.kind != CLOZE and not card.back.strip()):
            diagnostics.append(Diagnostic(rel, card.line, Level.WARNING, "sr-card-empty",
                                          "a flashcard with an empty side gives no card; "
                                          "write both its question and its answer"))
            continue
        card = _unique(card, taken, rel, diagnostics)
        cards.append(card)
    for n, _ in tags:
        if n >= 0 and not _TAG.sub("", lines[n]).strip():
            consumed.add(n)
    blanked = "\n".join("" if n in consumed else line for n, line in enumerate(lines))
    return tuple(cards), blanked, tuple(diagnostics)


def _flashcard_tags(lines: Sequence[str], frontmatter_tags: Sequence[str],
                    settings: SrSettings) -> list[tuple[int, str]]:
    """The note's flashcard tags with their 0-based body line (-1: the frontmatter's)."""
    tags = [(-1, t) for t in frontmatter_tags if _flashcard_path(t, settings) is not None]
    for n, line in enumerate(lines):
        if "#" in line:
            tags += [(n, m.group(1)) for m in _TAG.finditer(line)
                     if _flashcard_path(m.group(1), settings) is not None]
    return tags


def _unique(card: SrCard, taken: set[str], rel: Path, diagnostics: list[Diagnostic]) -> SrCard:
    """The card, its key made unique in the note (`key~2`, with a warning) where an earlier
    card asks the same."""
    key, count = card.key, 1
    while key in taken:
        count += 1
        key = f"{card.key}~{count}"
    taken.add(key)
    if count == 1:
        return card
    diagnostics.append(Diagnostic(rel, card.line, Level.WARNING, "sr-duplicate",
                                  "an earlier flashcard of this note asks the same; end this "
                                  "one with a block id (` ^some-id`) to keep its identity "
                                  "when the order changes"))
    return replace(card, key=key)


def _flashcard_path(tag: str, settings: SrSettings) -> tuple[str, ...] | None:
    """`flashcards/a/b` under the flashcard tag `#flashcards` → ("a", "b"); None for others."""
    folded = tag.lstrip("#").casefold()
    for flashcard_tag in settings.flashcard_tags:
        base = flashcard_tag.lstrip("#").casefold()
        if folded == base or folded.startswith(base + "/"):
            return tuple(p for p in tag.lstrip("#")[len(base):].split("/") if p)
    return None


def _card(item: Item, tags: Sequence[tuple[int, str]], offset: int,
          settings: SrSettings) -> SrCard | None:
    """The item's sides, deck, key and reviews, as `QuestionText.splitText` and the plugin's
    question types read them; None for a cloze item whose deletions are gone."""
    schedule = re.search(r"<!--SR:(.+?)-->", item.text)
    text = "\n".join(line for line in _SCHEDULE.sub("", item.text).split("\n")
                     if not line.startswith(_METADATA_CALLOUT)).rstrip().removesuffix(">")
    text = text.rstrip()
    deck = None
    leading = re.match(r"\s*#([^\s#]+)\s*", text)
    if leading and (path := _flashcard_path(leading.group(1), settings)) is not None:
        deck, text = path, text[leading.end():]
    else:
        before = [t for n, t in tags if n < item.first] or [t for _, t in tags[:1]]
        deck = _flashcard_path(before[-1], settings) if before else None
    if settings.convert_folders_to_decks:
        deck = None
    block = _BLOCK_ID.search(text)
    if block:
        text = text[:block.start()].rstrip()
    if item.kind == CLOZE:
        front = cloze_markdown(text, settings)
        if front is None:
            return None
        back, question = "", _DELETION.sub("{{}}", front)
    elif item.multiline:
        separator = settings.multiline if item.kind == BASIC else settings.multiline_reversed
        lines = text.split("\n")
        at = next(n for n, line in enumerate(lines) if line.strip() == separator)
        front, back = "\n".join(lines[:at]), "\n".join(lines[at + 1:])
        question = front
    else:
        separator = settings.single_line if item.kind == BASIC else settings.single_line_reversed
        front, _, back = text.partition(separator)
        question = front
    if deck == ():
        deck = None
    key = f"{item.kind}:^{block.group(1)[1:]}" if block else f"{item.kind}:{_normalise(question)}"
    reviews = _reviews(schedule.group(1)) if schedule else ()
    return SrCard(item.kind, front.strip(), back.strip(), key, deck, offset + item.first + 1,
                  reviews)


def _normalise(text: str) -> str:
    return " ".join(text.casefold().split())


def _reviews(comment: str) -> tuple[Review | None, ...]:
    """Each `!` group of a `<!--SR:…-->` comment: `due,interval,ease` (the plugin's SM-2), or
    `fsrs,due,interval,stability,difficulty,state,reps,lapses,steps,last review`."""
    return tuple(_review(g.strip()) for g in comment.split("!") if g.strip())


def _review(group: str) -> Review | None:
    """The group's review state; None (the card arrives new) for one the plugin could not
    have written: a date outside 1970-2199, a number that is not finite, a negative count.
    Intervals, eases and counts beyond Anki's ranges are brought within them, so that no
    hand-edited comment writes a row Anki rejects (or SQLite cannot hold)."""
    fields = group.split(",")
    try:
        if fields[0] == "fsrs":
            due = datetime.fromisoformat(fields[1].replace("Z", "+00:00")).date()
            stability, difficulty = float(fields[3]), float(fields[4])
            if int(fields[5]) == 0:  # still new
                return None
            if not (0 < stability < math.inf and 1 <= difficulty <= 10):
                return None
            ease = round(130 + (10 - difficulty) / 9 * 240)  # the plugin's
            memory = json.dumps({"s": round(min(stability, _MAX_INTERVAL), 4),
                                 "d": round(difficulty, 4)}, separators=(",", ":"))
            review = Review(due, round(float(fields[2])), ease * 10, int(fields[6]),
                            int(fields[7]), memory)
        else:
            day = _date(fields[0])
            if day is None or day == _NEW_CARD_DATE:
                return None
            review = Review(day, int(fields[1]), int(fields[2]) * 10)
    except (ValueError, IndexError, OverflowError):
        return None
    if not _EARLIEST_DUE <= review.due < _LATEST_DUE or min(review.reps, review.lapses) < 0:
        return None
    return replace(review, interval=min(max(review.interval, 1), _MAX_INTERVAL),
                   factor=min(max(review.factor, _MIN_FACTOR), _MAX_FACTOR),
                   reps=min(review.reps, _MAX_COUNT), lapses=min(review.lapses, _MAX_COUNT))


_EARLIEST_DUE, _LATEST_DUE = date(1970, 1, 1), date(2200, 1, 1)
_MAX_INTERVAL = 36500  # days: Anki's longest
_MIN_FACTOR, _MAX_FACTOR = 1300, 10_000  # ease in permille: Anki's lowest; 10.0, beyond
# use (Anki refuses a package holding one over 65,535)
_MAX_COUNT = 1_000_000  # reviews or lapses of one card


def _date(text: str) -> date | None:
    for form in ("%Y-%m-%d", "%d-%m-%Y", "%a %b %d %Y"):
        try:
            return datetime.strptime(text.strip(), form).date()
        except ValueError:
            continue
    return None
