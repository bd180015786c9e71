"""Read a note's frontmatter and split its body into sections by the heading rules.

Splitting follows CommonMark's block structure (pulldown-cmark's, through pyromark), so a
`## heading` inside a fenced code block, a blockquote or a list never starts a card, and a
heading that follows a blockquote without a blank line is still a heading. Where no line can
hide a heading (`_headings`), they are read off the lines, which is the same and faster. Line
numbers count the frontmatter's lines, computed here once.
"""

from __future__ import annotations

import bisect
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any, NamedTuple

import pyromark

from .cloze import HIGHLIGHTS, MODES, OFF
from .errors import Diagnostic, Level, NoteError
from .slugify import garden_url_path, sanitize_permalink
from .srcards import SrCard, SrSettings, note_cards
from .vault import SourceFile

PINNED_ID = re.compile(r"\s+\^([A-Za-z0-9][A-Za-z0-9-]*)\s*$")
"""An Obsidian block id at the end of a heading (`## Hallmark ^hallmark`) pins the card's GUID."""


@dataclass(frozen=True, slots=True)
class HeadingRules:
    """Which headings start a card: the rules every note is split by."""

    level: int = 2  # sections start at headings of this level; `anki-heading-level` overrides
    skipped: tuple[str, ...] = ()  # headings (any case, trailing ":" ignored) that are not cards
    sr: SrSettings | None = None  # the Spaced Repetition plugin's settings; None: no such cards


@dataclass(frozen=True, slots=True)
class Section:
    """One heading and its body: the source of one card."""

    heading: str  # Markdown of the heading as the card shows it: colon and pinned id removed
    path: tuple[str, ...]  # parent headings between the note title and this one, then this one
    body: str  # Markdown of the section, heading line excluded, sub-headings included
    line: int  # 1-based line of the heading in the file
    body_line: int  # 1-based line where `body` starts, for messages from the render step
    key: str  # normalised heading path: with the note's identity, the input to the GUID
    pin: str | None = None  # block id after the heading (`## Hallmark ^core` → "core")


@dataclass(frozen=True, slots=True)
class Note:
    """A note read and split: what its cards, deck and identity are made from."""

    rel: PurePosixPath  # vault-relative source path
    dg_path: str  # the frontmatter's `dg-path`, or "": what tells notes of one permalink apart
    title: str
    permalink: str  # the Digital Garden URL path, "/a/b/"; the base of every GUID of this note
    permalink_from: str  # which key gave it: dg-permalink, permalink, dg-path or path
    folders: tuple[str, ...]  # deck hierarchy: dg-path folders, else vault folders
    tags: tuple[str, ...]  # Anki tags (`a::b`), from frontmatter
    published: bool
    excluded: bool  # `anki: false` in the frontmatter leaves a published note out of the deck
    embeds: bool  # may show other notes' text (`![[Other]]`): its cards change with theirs
    definitions: str  # every footnote (`[^1]: …`) and link reference (`[x]: url`) of the note
    sections: Sequence[Section]  # a tuple; once pickled, one unpickled when first read
    skipped: tuple[str, ...]  # headings that matched the rules but gave no card, and why
    level: int  # the heading level actually used
    cloze: str | None = None  # `anki-cloze` (a `cloze.MODES` value): highlights as clozes or not
    code_languages: tuple[str, ...] = ()  # of its fenced code: the highlighters to load early
    sr_cards: tuple[SrCard, ...] = ()  # cards in the Spaced Repetition plugin's syntax


def split_frontmatter(source: SourceFile) -> tuple[dict[str, object], str, int]:
    """Return (metadata, body, number of lines before the body).

    Both forms seen in real gardens are read: the one-line JSON the Digital Garden plugin writes
    and block YAML. python-frontmatter's own `split` strips whitespace and so loses line numbers;
    we split by hand and use its handlers to load.
    """
    text = source.text
    if not text.startswith("---\n"):
        return {}, text, 0
    end = re.search(r"^(?:---|\.\.\.)[ \t]*$", text[4:], flags=re.M)
    if end is None:
        return {}, text, 0
    block = text[4 : 4 + end.start()]
    body = text[4 + end.end() :].removeprefix("\n")
    offset = text[: len(text) - len(body)].count("\n")
    return _load_frontmatter(block, source.rel), body, offset


def _load_frontmatter(block: str, rel: PurePosixPath) -> dict[str, object]:
    data: object
    if block.lstrip().startswith("{"):
        try:
            # The plugin writes `[[a\|b]]` into JSON strings; the garden template unescapes `\|`.
            data = json.loads(block.rstrip().replace("\\|", "|"))
        except json.JSONDecodeError as e:
            raise NoteError(f"malformed JSON frontmatter: {e.msg} (column {e.colno}); fix the "
                            "JSON object between the --- lines, or write it as YAML",
                            path=Path(rel), line=1 + e.lineno) from e
    else:
        import yaml  # here: most published notes carry the one-line JSON form
        from frontmatter.default_handlers import YAMLHandler

        try:
            data = YAMLHandler().load(block)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            problem = getattr(e, "problem", None) or "cannot be parsed"
            raise NoteError(f"malformed YAML frontmatter: {problem}; fix the block between the "
                            "--- lines", path=Path(rel),
                            line=2 + mark.line if mark is not None else 1) from e
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise NoteError("frontmatter is not a mapping of keys to values; write `key: value` "
                        "lines between the --- lines", path=Path(rel), line=2)
    return {str(k): v for k, v in data.items()}


def is_published(meta: Mapping[str, object]) -> bool:
    """The Digital Garden plugin's rule: `dg-publish` truthy and not the string "false"."""
    value = meta.get("dg-publish")
    return bool(value) and value != "false"


def parse_note(source: SourceFile, rules: HeadingRules) -> tuple[Note, tuple[Diagnostic, ...]]:
    meta, body, offset = split_frontmatter(source)
    diagnostics: list[Diagnostic] = []
    level = _heading_level(meta, rules.level, source.rel)
    body = mask_comments(body)
    sr_cards: tuple[SrCard, ...] = ()
    if rules.sr is not None:  # first: their lines are blanked, so no text is two cards
        sr_cards, body, sr_problems = note_cards(
            body, offset, [t.replace("::", "/") for t in _tags(meta.get("tags"))],
                                                 Path(source.rel), rules.sr)
        diagnostics += sr_problems
    lines = body.split("\n")
    headings = _headings(body)
    title = _title(meta, headings, level, source.rel)
    permalink, permalink_from = _permalink(meta, source.rel)
    sections: list[Section] = []
    skipped: list[str] = []
    parents: dict[int, str] = {}
    starts = [i for i, h in enumerate(headings) if h.level <= level]
    skipped_keys = {_normalise(s) for s in rules.skipped}
    for n, i in enumerate(starts):
        lvl, first, after, text = headings[i]
        parents = {k: v for k, v in parents.items() if k < lvl}
        parents[lvl] = text
        if lvl < level:
            continue
        end = headings[starts[n + 1]].line if n + 1 < len(starts) else len(lines)
        section_body, body_start = _section_body(lines, after, end)
        pinned = PINNED_ID.search(text)
        heading = _clean_heading(PINNED_ID.sub("", text))
        path = (*(_clean_heading(PINNED_ID.sub("", parents[k]))
                  for k in sorted(parents) if 1 < k < lvl), heading)
        if _normalise(heading) in skipped_keys:
            skipped.append(f"{heading} (skipped heading)")
            continue
        if not section_body.strip():
            skipped.append(f"{heading} (empty)")
            continue
        key = " / ".join(_normalise(p) for p in path)
        if key.startswith("^"):
            key = "\\" + key  # `## ^C to stop` is a heading; `^id` keys are for pins alone
        sections.append(Section(heading, path, section_body, offset + first + 1,
                                offset + body_start + 1, key, pinned.group(1) if pinned else None))
    sections = _dedupe_keys(sections, source.rel, diagnostics)
    tags = tuple(sorted({*_tags(meta.get("tags")), *_tags(meta.get("anki-tags"))}))
    note = Note(source.rel, str(meta.get("dg-path", "")), title, permalink, permalink_from,
                _folders(meta, source.rel),
                tags, is_published(meta), _left_out(meta.get("anki")),
                _embeds_notes(body), _definitions(body, lines), tuple(sections),
                tuple(skipped), level, _cloze_mode(meta, source.rel), _code_languages(body),
                sr_cards)
    if not sections and not sr_cards:
        diagnostics.append(_no_card_diagnostic(note, headings, offset))
    return note, tuple(diagnostics)


_EMBED = re.compile(r"!\[\[([^\]|#^\n]*)|!\[[^\]\n]*\]\(([^)\s]+)")


_DEFINITION = re.compile(r" {0,3}\[(?:\^[^\]\n]+|[^\]\n^][^\]\n]*)\]:")


def _definitions(body: str, lines: Sequence[str]) -> str:
    """The note's footnote and link reference definitions, wherever they stand (often all at
    the end, under a skipped `## References`), so that every section's card can use them;
    a blank line between any two, so that none reads as the continuation of another."""
    if "]:" not in body:
        return ""
    found: list[str] = []
    fence = ""
    within = False
    for line in lines:
        stripped = line.lstrip()
        if fence or stripped.startswith(("```", "~~~")):
            fence = "" if fence and stripped.startswith(fence) else fence or stripped[:3]
            within = False
        elif _DEFINITION.match(line):
            found.append(line)
            within = True
        elif within and line.strip() and line[:1] in " \t":  # a footnote's indented lines
            found[-1] += "\n" + line
        else:
            within = False
    return "\n\n".join(found)


def _embeds_notes(body: str) -> bool:
    """Whether the note shows another note's text (`![[Other]]`, `![x](Other.md)`); embedded
    images and other files do not count."""
    for match in _EMBED.finditer(body):
        target = (match.group(1) or match.group(2) or "").strip()
        if PurePosixPath(target).suffix.lower() not in _ATTACHMENT_SUFFIXES:
            return True  # `![[Dr. Smith]]` is a note too: only known file types are not
    return False


_ATTACHMENT_SUFFIXES = frozenset({
    ".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".bmp", ".avif", ".pdf", ".mp3", ".m4a",
    ".ogg", ".wav", ".mp4", ".webm", ".mov"})


def _section_body(lines: Sequence[str], start: int, end: int) -> tuple[str, int]:
    """The section's Markdown without surrounding blank lines, and the index of its first line."""
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return "\n".join(lines[start:end]), start


def _code_languages(body: str) -> tuple[str, ...]:
    """The languages named after code fences: a hint (see `render.load_renderers`), so a fence
    that is none (inside another code block, say) does no harm."""
    if "```" not in body and "~~~" not in body:
        return ()
    return tuple(sorted({lang.lower() for lang in _FENCE_LANGUAGE.findall(body)}))


_FENCE_LANGUAGE = re.compile(r"^[ \t>*+\-\d.)]*(?:```|~~~)[ \t]*([\w+#.-]+)", re.M)


class _Heading(NamedTuple):
    level: int
    line: int  # 0-based first line in the body
    end: int  # 0-based line after the heading (a setext heading spans two lines or more)
    text: str  # raw inline Markdown


_ATX = re.compile(r"^ {0,3}#{1,6}(?:[ \t]+|$)")
_ATX_CLOSING = re.compile(r"(?:^|[ \t]+)#+[ \t]*$")


def _headings(body: str) -> list[_Heading]:
    """Every top-level heading of the body: read off the lines where nothing can hide one,
    else from the parser."""
    framed = f"\n{body}\n"  # each line between newlines: see `_MARGIN_ATX`
    if _HIDES_HEADINGS.search(framed):
        return _parsed_headings(body)
    found = []
    line, counted_to = 0, 0
    for match in _MARGIN_ATX.finditer(framed):  # at the newline before the heading's line:
        line += body.count("\n", counted_to, match.start())  # its start in `body`
        counted_to = match.start()
        found.append(_Heading(len(match.group(2)), line, line + 1,
                              _heading_text(match.group(1))))
    return found


_MARGIN_ATX = re.compile(r"\n((#{1,6})(?:[ \t].*)?)(?=\n)")
"""A line found by its newlines, not `^` and `re.M`: `^` is tried at every character of the
text, a newline only where there is one (three times as fast)."""
_HIDES_HEADINGS = re.compile(r"\n {0,3}(?:```|~~~|<|=+[ \t]*\n|-+[ \t]*\n)|\n {1,3}#")
"""A line that may open a fenced code or HTML block, or underline a setext heading, or an
indented `#`. Without any, the top-level headings are exactly the ATX lines at the margin:
such a line ends any list, quote, table or footnote above it (it is no lazy continuation), and
nothing else can hold it (CommonMark). `tests/test_parse.py` checks this against the parser."""


def _parsed_headings(body: str) -> list[_Heading]:
    """Every top-level heading of the body, from pulldown-cmark's event stream (pyromark).

    pyromark follows CommonMark like markdown-it does, and is over ten times faster than
    markdown-it's block parser here, where only the headings are wanted: splitting a large
    vault is then a small part of a build (see benchmarks/README.md).
    """
    data = body.encode("utf-8")
    newlines: list[int] | None = None
    found = []
    depth = 0
    events: Iterable[tuple[Any, Any]] = pyromark.events_with_range(
        body, options=_SPLIT_OPTIONS, merge_text=True)
    for event, span in events:  # ({"Start": {"Heading": {"level": "H2", ...}}}, {"start": 0, …})
        if event.__class__ is not dict:
            continue
        inner = event.get("Start")
        if inner is None:
            depth -= "End" in event
            continue
        if depth == 0 and inner.__class__ is dict and "Heading" in inner:
            start, stop = span["start"], span["end"]
            if newlines is None:
                newlines = [m.start() for m in re.finditer(b"\n", data)]
            line = bisect.bisect_right(newlines, start - 1)
            end = bisect.bisect_right(newlines, stop - 1)
            raw = data[start:stop].decode("utf-8").rstrip("\n")
            found.append(_Heading(int(inner["Heading"]["level"][1]), line,
                                  max(end, line + 1), _heading_text(raw)))
        depth += 1
    return found


_SPLIT_OPTIONS = pyromark.Options.ENABLE_TABLES | pyromark.Options.ENABLE_FOOTNOTES


def _heading_text(raw: str) -> str:
    """The inline Markdown of an ATX (`## Text ##`) or setext (`Text` over `---`) heading."""
    if _ATX.match(raw):
        return _ATX_CLOSING.sub("", _ATX.sub("", raw, count=1)).strip()
    return " ".join(line.strip() for line in raw.split("\n")[:-1])


def mask_comments(body: str) -> str:
    """Blank out Obsidian `%%comments%%` outside code, keeping every newline, so that a heading
    inside a comment splits nothing and line numbers stay true."""
    if "%%" not in body:
        return body
    events: Iterable[tuple[Any, Any]] = pyromark.events_with_range(body)
    code = [(span["start"], span["end"]) for event, span in events
            if isinstance(event, dict) and (
                "Code" in event or ("Start" in event and isinstance(event["Start"], dict)
                                    and "CodeBlock" in event["Start"]))]
    data = body.encode("utf-8")
    marks = [m.start() for m in re.finditer(b"%%", data)
             if not any(a <= m.start() < b for a, b in code)]
    out = bytearray(data)
    for opening, closing in zip(marks[::2], marks[1::2], strict=False):
        for i in range(opening, closing + 2):
            if out[i] != 10:
                out[i] = 32
    return out.decode("utf-8")


def _heading_level(meta: Mapping[str, object], default: int, rel: PurePosixPath) -> int:
    value = meta.get("anki-heading-level", default)
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 6:
        return value
    raise NoteError(f"anki-heading-level must be a number from 1 to 6, not {value!r}",
                    path=Path(rel), line=2)


def _cloze_mode(meta: Mapping[str, object], rel: PurePosixPath) -> str | None:
    """`anki-cloze: highlights` (or `true`), `highlights-together`, `off` (or `false`)."""
    value = meta.get("anki-cloze")
    if value is None or (isinstance(value, str) and value in MODES):
        return value
    if isinstance(value, bool):
        return HIGHLIGHTS if value else OFF
    raise NoteError(f"anki-cloze must be one of {', '.join(MODES)}, not {value!r}",
                    path=Path(rel), line=2)


def _title(meta: Mapping[str, object], headings: Sequence[_Heading], level: int,
           rel: PurePosixPath) -> str:
    if isinstance(meta.get("title"), str) and str(meta["title"]).strip():
        return str(meta["title"]).strip()
    if level > 1:
        for heading in headings:
            if heading.level == 1:
                return heading.text
    dg_path = meta.get("dg-path")
    if isinstance(dg_path, str) and dg_path.strip("/"):
        return _strip_md(PurePosixPath(dg_path.strip("/")).name)
    return _strip_md(rel.name)


def _permalink(meta: Mapping[str, object], rel: PurePosixPath) -> tuple[str, str]:
    for key in ("dg-permalink", "permalink"):
        value = meta.get(key)
        if isinstance(value, str) and value.strip():
            return sanitize_permalink(value.strip()), key
    dg_path = meta.get("dg-path")
    if isinstance(dg_path, str) and dg_path.strip("/"):
        return "/" + garden_url_path(dg_path.strip("/")), "dg-path"
    return "/" + garden_url_path(rel.as_posix()), "path"


def _folders(meta: Mapping[str, object], rel: PurePosixPath) -> tuple[str, ...]:
    """Deck path parts: `anki-deck` ("A::B") if the note names one, else the dg-path folders,
    else the note's folders in the vault."""
    deck = meta.get("anki-deck")
    if isinstance(deck, str) and deck.strip(": "):
        return tuple(part.strip() for part in deck.split("::") if part.strip())
    dg_path = meta.get("dg-path")
    has_dg_path = isinstance(dg_path, str) and dg_path.strip("/")
    path = PurePosixPath(str(dg_path).strip("/")) if has_dg_path else rel
    return tuple(part.strip() for part in path.parent.parts if part.strip())


def _tags(value: object) -> tuple[str, ...]:
    """Frontmatter tags as Anki tags: a list or an "a, b" string; Obsidian's `a/b` is `a::b`."""
    if isinstance(value, str):
        items: list[object] = re.split(r",\s*|\s+", value)
    elif isinstance(value, list):  # YAML may nest (`[[a, b], c]`): flatten one level
        items = [x for t in value for x in (t if isinstance(t, list) else [t])]
    else:
        return ()
    tags = (str(t).strip().lstrip("#").replace("/", "::") for t in items
            if isinstance(t, str | int | float) and not isinstance(t, bool))
    return tuple(sorted({t.replace(" ", "_") for t in tags if t}))


def _left_out(value: object) -> bool:
    """`anki: false` (also `"false"`, `no`, `off`, `0`) leaves a published note out."""
    if isinstance(value, str):
        return value.strip().casefold() in {"false", "no", "off", "0"}
    return value is False or (isinstance(value, int) and value == 0)


def _clean_heading(text: str) -> str:
    """`Hallmark:` → `Hallmark`; a heading that is a question keeps its `?`."""
    return text.strip().rstrip(":").rstrip()


def _normalise(heading: str) -> str:
    """The part of a heading that identifies a card: case, spacing and a trailing colon ignored."""
    return " ".join(unicodedata.normalize("NFC", heading).casefold().split()).rstrip(":").strip()


def _strip_md(name: str) -> str:
    return name[:-3] if name.lower().endswith(".md") else name


def _dedupe_keys(sections: list[Section], rel: PurePosixPath,
                 diagnostics: list[Diagnostic]) -> list[Section]:
    """Two sections with the same heading get `key`, `key~2`, ... and a warning, since the
    second one's identity then depends on order; a repeated pin is dropped with a warning."""
    seen: dict[str, int] = {}
    taken = {s.key for s in sections}
    pins: set[str] = set()
    result = []
    for s in sections:
        count = seen[s.key] = seen.get(s.key, 0) + 1
        if count > 1:
            while f"{s.key}~{count}" in taken:  # `## Step`, `## Step`, `## Step~2`
                count += 1
            taken.add(f"{s.key}~{count}")
            diagnostics.append(Diagnostic(
                Path(rel), s.line, Level.WARNING, "duplicate-heading",
                f"a second section headed '{s.heading}' in this note; its card keeps its "
                "identity only while the order stays; end the heading with a block id "
                "(` ^some-id`) to pin it"))
            s = replace(s, key=f"{s.key}~{count}")
        if s.pin is not None and s.pin in pins:
            diagnostics.append(Diagnostic(
                Path(rel), s.line, Level.WARNING, "duplicate-pin",
                f"the block id ^{s.pin} is used by an earlier heading of this note; ignored here"))
            s = replace(s, pin=None)
        if s.pin is not None:
            pins.add(s.pin)
        result.append(s)
    return result


def _no_card_diagnostic(note: Note, headings: Sequence[_Heading],
                        offset: int) -> Diagnostic:
    levels = sorted({h.level for h in headings})
    marker = "#" * note.level
    if note.skipped:
        why = f"every {marker} section was skipped: {', '.join(note.skipped)}"
    elif not headings:
        why = "it has no headings; cards come from its sections"
    else:
        found = ", ".join("#" * lvl for lvl in levels)
        deeper = [lvl for lvl in levels if lvl > note.level]
        suggest = deeper[0] if deeper else levels[-1]
        why = (f"it has no {marker} headings (found {found}); use --heading-level {suggest} "
               f"or `anki-heading-level: {suggest}` in its frontmatter")
    return Diagnostic(Path(note.rel), offset + 1 if offset else None, Level.WARNING,
                      "no-cards", f"note gives no card: {why}")
