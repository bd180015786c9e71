"""Read a note's frontmatter and split its body into sections by the heading rules.

Each note splits at its own level (`auto`: where its sections are) unless one is forced, and
the text before its first heading is a section too, the intro, whose question is the title. A
note in the form the Digital Garden plugin publishes is first put back in its vault form
(`restore_block_ids`), so that both give the same sections, keys and pins.

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
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any, Final, NamedTuple

import pyromark

from .cloze import HIGHLIGHTS, MODES, OFF
from .config import AUTO, HeadingLevel
from .errors import Diagnostic, Level, NoteError
from .slugify import garden_url_path, sanitize_permalink
from .srcards import SrCard, SrSettings, note_cards
from .vault import SourceFile, named_like_image

PINNED_ID = re.compile(r"\s+\^([A-Za-z0-9][A-Za-z0-9-]*)\s*$")
"""An Obsidian block id at the end of a heading (`## Hallmark ^hallmark`) pins the card's GUID."""

INTRO_KEY: Final = "INTRO"
"""The section key of a note's intro (the text before its first heading). Heading keys are
casefolded (`_normalise`), so no heading can have this key, and it stays the same whatever the
note's title."""


@dataclass(frozen=True, slots=True)
class HeadingRules:
    """Which headings start a card: the rules every note is split by."""

    level: HeadingLevel = AUTO  # sections start at headings of this level; `auto`: see
    # `_auto_level`; a folder's level (`by_folder`) and a note's `anki-heading-level` win
    skipped: tuple[str, ...] = ()  # headings (any case, trailing ":" ignored) that are not cards
    by_folder: tuple[tuple[str, HeadingLevel], ...] = ()  # (vault folder "a/b", level); the
    # longest folder holding the note wins over `level`
    intro: bool = True  # the text before the first heading is a card, titled by the note
    sr: SrSettings | None = None  # the Spaced Repetition plugin's settings; None: no such cards


@dataclass(frozen=True, slots=True)
class Section:
    """One heading and its body: the source of one card."""

    heading: str  # Markdown of the heading as the card shows it: colon and pinned id removed
    # (the intro's: the note's title)
    path: tuple[str, ...]  # parent headings between the note title and this one, then this
    # one; () for the intro
    body: str  # Markdown of the section, heading line excluded, sub-headings included
    line: int  # 1-based line of the heading in the file (the intro's: of its first line)
    body_line: int  # 1-based line where `body` starts, for messages from the render step
    key: str  # normalised heading path: with the note's identity, the input to the GUID
    pin: str | None = None  # block id after the heading (`## Hallmark ^core` → "core")

    @property
    def is_intro(self) -> bool:
        """The text before the note's first heading: its question is the note's title."""
        return not self.path


@dataclass(frozen=True, slots=True)
class Definitions:
    """A note's footnote (`[^1]: …`) and link reference (`[x]: url`) definitions, wherever
    they stand (often all at the end, under a skipped `## References`): each section's card
    gets those it cites (`cited`)."""

    markdown: tuple[str, ...] = ()  # each definition's lines, in the note's order
    by_label: Mapping[str, tuple[int, ...]] = field(default_factory=dict)  # `label_key` →
    # places in `markdown` (a label defined twice has two: the parsers pick one)

    def cited(self, markdown: str) -> str:
        """The definitions `markdown` cites, and those they cite in turn, in the note's order,
        a blank line between any two (so that none reads as the continuation of another): to
        append to a section. Only these: appending all of them to each section, and rendering
        them again with each, made a note of 1,000 sections and 1,000 footnotes take 44 s."""
        labels: set[str] = set()
        places: set[int] = set()
        pending = [markdown] if self.markdown and "[" in markdown else []
        while pending:
            for match in _CITATION.finditer(pending.pop()):
                label = label_key(match.group(1) or match.group(2))
                if label in self.by_label and label not in labels:
                    labels.add(label)
                    places.update(self.by_label[label])
                    pending += (self.markdown[place] for place in self.by_label[label])
        return "\n\n".join(self.markdown[place] for place in sorted(places))


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
    definitions: Definitions  # its footnotes and link references, for the sections citing them
    sections: Sequence[Section]  # a tuple; once pickled, one unpickled when first read
    skipped: tuple[str, ...]  # headings that matched the rules but gave no card, and why
    level: int  # the heading level actually used
    cloze: str | None = None  # `anki-cloze` (a `cloze.MODES` value): highlights as clozes or not
    code_languages: tuple[str, ...] = ()  # of its fenced code: the highlighters to load early
    title_line: int = 0  # line of the `# heading` the title is (inline Markdown); 0: plain text
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
        except RecursionError as e:
            raise NoteError("JSON frontmatter nested too deep to read; fix the JSON object "
                            "between the --- lines", path=Path(rel), line=2) from e
    else:
        import yaml  # here: most published notes carry the one-line JSON form
        from frontmatter.default_handlers import YAMLHandler

        try:
            if "*" in block:  # an alias needs one: most frontmatter is spared the extra parse
                _refuse_aliases(block, rel)
            data = YAMLHandler().load(block)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            problem = getattr(e, "problem", None) or "cannot be parsed"
            raise NoteError(f"malformed YAML frontmatter: {problem}; fix the block between the "
                            "--- lines", path=Path(rel),
                            line=2 + mark.line if mark is not None else 1) from e
        except RecursionError as e:  # libyaml stops at 1,000 levels; pure-Python PyYAML not
            raise NoteError("YAML frontmatter nested too deep to read; fix the block between "
                            "the --- lines", path=Path(rel), line=2) from e
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise NoteError("frontmatter is not a mapping of keys to values; write `key: value` "
                        "lines between the --- lines", path=Path(rel), line=2)
    return {str(k): v for k, v in data.items()}


def _refuse_aliases(block: str, rel: PurePosixPath) -> None:
    """YAML aliases (`*name`) are refused in frontmatter, not expanded: nine lines of them make
    a value of nine to the ninth items (a 351-byte note held a build for a minute and 3 GB).
    Refused rather than bounded, since neither Obsidian's properties nor the Digital Garden
    plugin write them, and a refusal is one rule to explain; the line is the alias's."""
    import yaml
    from frontmatter.default_handlers import SafeLoader

    for event in yaml.parse(block, Loader=SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            raise NoteError(f"YAML alias `*{event.anchor}` in the frontmatter; aliases are not "
                            "read (a few can expand to gigabytes): write the value out",
                            path=Path(rel),
                            line=2 + event.start_mark.line if event.start_mark else None)


def is_published(meta: Mapping[str, object]) -> bool:
    """The Digital Garden plugin's rule: `dg-publish` truthy and not the string "false"."""
    value = meta.get("dg-publish")
    return bool(value) and value != "false"


def parse_note(source: SourceFile, rules: HeadingRules) -> tuple[Note, tuple[Diagnostic, ...]]:
    meta, body, offset = split_frontmatter(source)
    _check_paths(meta, source.rel)
    diagnostics: list[Diagnostic] = []
    body = mask_comments(restore_block_ids(body))
    sr_cards: tuple[SrCard, ...] = ()
    if rules.sr is not None:  # first: their lines are blanked, so no text is two cards
        sr_cards, body, sr_problems = note_cards(
            body, offset, [t.replace("::", "/") for t in _tags(meta.get("tags"))],
                                                 Path(source.rel), rules.sr)
        diagnostics += sr_problems
    lines = body.split("\n")
    headings = _headings(body)
    skipped_keys = {_normalise(s) for s in rules.skipped}
    level, title_heading = _level(meta, rules, source.rel, headings, lines, skipped_keys)
    title = _title(meta, title_heading, source.rel)
    permalink, permalink_from = _permalink(meta, source.rel)
    sections: list[Section] = []
    skipped: list[str] = []
    parents: dict[int, str] = {}
    starts = [i for i, h in enumerate(headings) if h.level <= level and h is not title_heading]
    intro = _intro(title, lines, headings, title_heading, offset) if rules.intro else None
    if intro is not None:
        navigation = _navigation(meta, intro.body)
        if navigation is None:
            sections.append(intro)
        else:
            skipped.append(f"the intro ({navigation})")
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
                sr_cards=sr_cards, title_line=offset + title_heading.line + 1
                if title_heading is not None and title == title_heading.text else 0)
    if not sections and not sr_cards:
        diagnostics.append(_no_card_diagnostic(note, headings, offset))
    return note, tuple(diagnostics)


def restore_block_ids(body: str) -> str:
    """The note as written in the vault, from the form the Digital Garden plugin publishes.

    The plugin rewrites every ` ^id` (outside ``` code) as a line `{ #id}` (the garden's
    markdown-it-attrs syntax): `## Hallmark ^core` arrives as `## Hallmark` over `{ #core}`,
    and, in math, `$x ^2 + 1$` as `$x` / `{ #2}` / ` + 1$`; a `^id` alone on a line becomes
    `{ #id}` at the end of the line above. Putting ` ^id` back makes a published note the note
    it was: a pinned heading has its pin (and its cards their GUIDs), a block id is removed
    from the card as in the vault, math is whole again. Line numbers stay those of the file,
    except that a `{ #id}` put back inside a line moves the lines up to the next blank line.
    """
    if "{ #" not in body:
        return body
    code = [m.span() for m in _PLUGIN_CODE.finditer(body)]
    found = [m for m in _PUBLISHED_ID.finditer(body)
             if not any(a <= m.start() < b for a, b in code)]
    if not found:
        return body
    math = _math_spans(body, found) if "$" in body else ()
    out: list[str] = []
    done = 0
    newlines = 0  # taken out by ids put back inside a line, owed to the next blank line
    for match in found:
        out.append(body[done : match.start()])
        done = match.end()
        if newlines and "\n\n" in out[-1]:
            blank = out[-1].index("\n\n") + 1
            out[-1] = out[-1][:blank] + "\n" * newlines + out[-1][blank:]
            newlines = 0
        if match.group("own") is not None:  # `text{ #id}` + blank line: was `text` / `^id`
            out.append(f"\n^{match.group('own')}\n")
            continue
        block_id = match.group("id")
        line_end = body.find("\n", match.end() + 1)
        rest = body[match.end() + 1 : line_end if line_end >= 0 else len(body)]
        if match.end() == len(body) or not (rest.strip() or match.start() in math):
            out.append(f" ^{block_id}\n")  # a block id: `text ^id`, then a blank line
        else:
            out.append(f" ^{block_id}")  # inside a line (of math, mostly): joined again
            done += 1
            newlines += 2
    out.append(body[done:])
    text = "".join(out)
    if newlines:
        blank = text.find("\n\n")
        text = (text[: blank + 1] + "\n" * newlines + text[blank + 1 :] if blank >= 0
                else text + "\n" * newlines)
    return text


_PLUGIN_CODE = re.compile(r"```[\s\S]*?```")
"""What the plugin leaves alone when it rewrites block ids (its own pattern)."""
_PUBLISHED_ID = re.compile(
    r"\n\{ #(?P<id>[A-Za-z0-9_-]+)\}(?=\n|\Z)|(?<=[^\n])\{ #(?P<own>[A-Za-z0-9_-]+)\}\n\n")
"""A block id as the plugin publishes it: ` ^id` as a line of its own (`id`), or a `^id` line
appended to the line above (`own`); the id is the plugin's `[\\w\\d-]+` (ASCII in JavaScript)."""


def _math_spans(body: str, found: Sequence[re.Match[str]]) -> frozenset[int]:
    """Which of those published ids stand inside math: judged on the text with every one
    joined back into its line, as Obsidian saw it (`$x ^2$` is math; `$x`, `{ #2}`, `$` not)."""
    joined: list[str] = []
    at: dict[int, int] = {}  # start of the match in `body` → of its ` ^id` in the joined text
    done = 0
    size = 0
    for match in found:
        joined.append(body[done : match.start()])
        size += match.start() - done
        at[match.start()] = size
        block_id = match.group("id") or match.group("own")
        piece = f" ^{block_id}" if match.group("id") is not None else f"\n^{block_id}\n"
        joined.append(piece)
        size += len(piece)
        done = match.end() + (match.group("id") is not None and match.end() < len(body))
    joined.append(body[done:])
    text = "".join(joined)
    data = text.encode("utf-8")
    spans = [(m.start(), m.end()) for m in _DISPLAY_MATH.finditer(text)]
    events: Iterable[tuple[Any, Any]] = pyromark.events_with_range(
        text, options=pyromark.Options.ENABLE_MATH)
    for event, span in events:
        if isinstance(event, dict) and ("InlineMath" in event or "DisplayMath" in event):
            spans.append((len(data[: span["start"]].decode("utf-8")),
                          len(data[: span["end"]].decode("utf-8"))))
    return frozenset(start for start, pos in at.items() if any(a < pos < b for a, b in spans))


_DISPLAY_MATH = re.compile(r"^[ \t>]*\$\$.*?\$\$", re.M | re.S)
"""A `$$` block, which Obsidian ends at the next `$$` however many blank lines it holds."""


def _level(meta: Mapping[str, object], rules: HeadingRules, rel: PurePosixPath,
           headings: Sequence[_Heading], lines: Sequence[str], skipped: Collection[str]
           ) -> tuple[int, _Heading | None]:
    """The level the note's sections are at, and the `# heading` that is its title, if any:
    with sections at `#`, every `#` is a section."""
    opening = _opening_heading(headings, lines)
    level = _heading_level(meta, rules, rel)
    if level == AUTO:
        level = _auto_level(headings, lines, opening, skipped)
    return level, opening if level > 1 else None


def _opening_heading(headings: Sequence[_Heading], lines: Sequence[str]) -> _Heading | None:
    """The `# heading` that opens the note (nothing but blank lines above it) and is its only
    `#`: the note's title as written, not a section."""
    if not headings or headings[0].level != 1 or any(h.level == 1 for h in headings[1:]):
        return None
    if any(line.strip() for line in lines[: headings[0].line]):
        return None
    return headings[0]


def _auto_level(headings: Sequence[_Heading], lines: Sequence[str], title: _Heading | None,
                skipped: Collection[str]) -> int:
    """The level a note's sections are at, by the cards each level would give.

    `#` when it gives several (a note organised under `#`); else `##` when it gives any, so a
    note written for the `##` rule keeps every card it had; else the highest level that gives
    several cards, else one card; else (no heading gives a card) the highest level there is."""

    def gives_card(i: int) -> bool:
        heading = headings[i]
        end = next((h.line for h in headings[i + 1 :] if h.level <= heading.level), len(lines))
        return (any(line.strip() for line in lines[heading.end : end])
                and _normalise(_clean_heading(PINNED_ID.sub("", heading.text))) not in skipped)

    at = [[i for i, h in enumerate(headings) if h.level == level and h is not title]
          for level in range(7)]
    if len(at[1]) > 1 and sum(map(gives_card, at[1])) > 1:
        return 1
    if any(map(gives_card, at[2])):  # most notes: decided at their first `##`
        return 2
    cards = [sum(map(gives_card, found)) for found in at]
    for wanted in (2, 1):
        for level in range(1, 7):
            if cards[level] >= wanted:
                return level
    return next((level for level in range(1, 7) if at[level]), 2)


def _intro(title: str, lines: Sequence[str], headings: Sequence[_Heading],
           title_heading: _Heading | None, offset: int) -> Section | None:
    """The text under the note's title up to its first heading, as the section of a card
    whose question is the title; None when there is nothing to learn in it (see `_CONTENT`)."""
    below = [h.line for h in headings if h is not title_heading]
    text, first = _section_body(lines, title_heading.end if title_heading else 0,
                                below[0] if below else len(lines))
    if not _CONTENT.sub("", text).strip():
        return None
    return Section(title, (), text, offset + first + 1, offset + first + 1, INTRO_KEY)


def _navigation(meta: Mapping[str, object], intro: str) -> str | None:
    """Why an intro is no card: it is the home page's, or only links (a table of contents:
    nothing to learn); None when it is a card."""
    if meta.get("dg-home") in (True, "true") or "gardenEntry" in _tags(meta.get("tags")):
        return "home page"
    return "only links" if _is_navigation(intro) else None


_CONTENT = re.compile(
    r"<!--.*?-->|^[ \t]*(?:\^[A-Za-z0-9-]+|\{ ?#[\w-]+\}|(?:#[\w/-]+[ \t]*)+|[-*_]{3,}"
    r"|\w[\w -]*::[ \t].*)[ \t]*$",
    re.M | re.S)
"""What leaves an intro empty: HTML comments, and lines of only a block id, tags, a rule or a
Dataview field (`Category:: emergency`: the note's metadata, nothing to recall) (`%%comments%%`
are blanked already, an opening `# title` is not part of it)."""


def _is_navigation(text: str) -> bool:
    """Whether the text is only links (`[[a]] · [[b]]`, a list of them), perhaps under a
    lead-in line ending in ":" ("Start with one of these:"): a table of contents, not a fact."""
    links = 0
    for line in text.split("\n"):
        rest, count = _NAV_LINK.subn("", line)
        links += count
        if not rest.rstrip().endswith(":") and re.search(r"\w", _LIST_MARK.sub("", rest)):
            return False
    return links > 0


_NAV_LINK = re.compile(r"(?<!!)\[\[[^\]\n]*\]\]|(?<!!)\[[^\]\n]*\]\([^)\n]*\)")
_LIST_MARK = re.compile(r"^[ \t>]*(?:(?:[-*+]|\d+[.)])[ \t]+)?(?:\[.\][ \t]+)?")


_EMBED = re.compile(r"!\[\[([^\]|#^\n]*)|!\[[^\]\n]*\]\(([^)\s]+)")


_DEFINITION = re.compile(r" {0,3}\[(\^[^\]\n]+|[^\]\n^][^\]\n]*)\]:")


def _definitions(body: str, lines: Sequence[str]) -> Definitions:
    """The note's footnote and link reference definitions, wherever they stand."""
    if "]:" not in body:
        return Definitions()
    found: list[str] = []
    labels: list[str] = []
    fence = ""
    within = False
    for line in lines:
        stripped = line.lstrip()
        if fence or stripped.startswith(("```", "~~~")):
            fence = "" if fence and stripped.startswith(fence) else fence or stripped[:3]
            within = False
        elif match := _DEFINITION.match(line):
            found.append(line)
            labels.append(label_key(match.group(1)))
            within = True
        elif within and line.strip() and line[:1] in " \t":  # a footnote's indented lines
            found[-1] += "\n" + line
        else:
            within = False
    by_label: dict[str, list[int]] = {}
    for place, label in enumerate(labels):
        by_label.setdefault(label, []).append(place)
    return Definitions(tuple(found), {label: tuple(p) for label, p in by_label.items()})


_CITATION = re.compile(r"\[(\^[^\[\]\s]+)\]|\[((?:[^\[\]\\]|\\.)*)\]")
"""What may cite a definition: a footnote reference (`[^1]`, its label read to the first `]`,
as markdown-it-footnote reads it), else any innermost brackets (`[label]`, and both halves of
`[text][label]`), backslash escapes kept. Innermost, so that one pass reads a section (no `[`
scans past another) and every link label is found: CommonMark allows no bracket inside one."""


def label_key(label: str) -> str:
    """A label as both parsers match it, or looser: spacing collapsed, case folded (also after
    markdown-it's lower-then-upper). A definition too many costs nothing, one too few would
    leave `[^1]` or `[x]` as text."""
    return " ".join(label.split()).lower().upper().casefold()


def _embeds_notes(body: str) -> bool:
    """Whether the note may show another note's text (`![[Other]]`, `![x](Other.md)`): any
    embed not named like an image, which never shows a note (`links.shows_note`). Any other
    name may be a note's: `![[Dr. Smith]]`, and `![[Podcast.mp3]]` finds `Podcast.mp3.md`."""
    return any(not named_like_image((match.group(1) or match.group(2) or "").strip())
               for match in _EMBED.finditer(body))


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
                              heading_text(match.group(1))))
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
                                  max(end, line + 1), heading_text(raw)))
        depth += 1
    return found


_SPLIT_OPTIONS = pyromark.Options.ENABLE_TABLES | pyromark.Options.ENABLE_FOOTNOTES


def heading_text(raw: str) -> str:
    """The inline Markdown of an ATX (`## Text ##`) or setext (`Text` over `---`) heading."""
    if _ATX.match(raw):
        return _ATX_CLOSING.sub("", _ATX.sub("", raw, count=1)).strip()
    return " ".join(line.strip() for line in raw.split("\n")[:-1])


def mask_comments(body: str, *, rest: bool = False, blank: bytes = b" ") -> str:
    """Blank out Obsidian `%%comments%%` outside code (each character but a newline becomes
    `blank`), keeping every newline, so that a heading inside a comment splits nothing and line
    numbers stay true; with `rest`, an unclosed `%%` hides the rest of the text, as it hides the
    rest of a note in Obsidian (rendering a section, whose paired comments the split blanked
    already)."""
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
    if rest and len(marks) % 2:
        marks.append(len(data) - 2)
    out = bytearray(data)
    for opening, closing in reversed(list(zip(marks[::2], marks[1::2], strict=False))):
        out[opening : closing + 2] = re.sub(b"[^\n]", blank, data[opening : closing + 2])
    return out.decode("utf-8")


_PATH_KEYS = ("dg-path", "dg-permalink", "permalink")


def _check_paths(meta: Mapping[str, object], rel: PurePosixPath) -> None:
    """The keys a note's identity comes from hold text (or nothing): a list or a number there
    is a mistake that would otherwise give the note other cards, silently."""
    for key in _PATH_KEYS:
        value = meta.get(key)
        if value is not None and not isinstance(value, str):
            raise NoteError(f"{key} must be text (a path such as `Folder/Note.md`), not "
                            f"{_kind_of(value)}; write it as one line of text",
                            path=Path(rel), line=2)


def _kind_of(value: object) -> str:
    return ("a list" if isinstance(value, list) else "a mapping" if isinstance(value, dict)
            else "true or false" if isinstance(value, bool)
            else "a number" if isinstance(value, int | float) else "a date or other value")


def _heading_level(meta: Mapping[str, object], rules: HeadingRules,
                   rel: PurePosixPath) -> HeadingLevel:
    """The note's `anki-heading-level`, else its folder's level, else the build's."""
    value = meta.get("anki-heading-level")
    if value is None:
        folder = rel.parent.as_posix() + "/"
        held = [(f, level) for f, level in rules.by_folder if folder.startswith(f + "/")]
        return max(held, key=lambda f: len(f[0]))[1] if held else rules.level
    if value == AUTO or (isinstance(value, int) and not isinstance(value, bool)
                         and 1 <= value <= 6):
        return value
    raise NoteError(f"anki-heading-level must be a number from 1 to 6 or \"auto\", not {value!r}",
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


def _title(meta: Mapping[str, object], heading: _Heading | None, rel: PurePosixPath) -> str:
    """Frontmatter `title`, else the `# heading` that opens the note, else the file name (of
    `dg-path`, else of the file): what Obsidian and the garden show as the note's name."""
    if isinstance(meta.get("title"), str) and str(meta["title"]).strip():
        return str(meta["title"]).strip()
    if heading is not None and heading.text:
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
    """Why the note gives no card, as a warning; a note of only links (a home page) is meant
    to give none, so that is said with --verbose only."""
    levels = sorted({h.level for h in headings})
    marker = "#" * note.level
    navigation = [s for s in note.skipped if s.startswith("the intro (")]
    if len(note.skipped) > len(navigation):
        why = f"every {marker} section was skipped: {', '.join(note.skipped)}"
    elif navigation:
        why = f"its text is navigation: {navigation[0]}"
    elif not headings:
        why = "it has no headings; cards come from its sections and the text before them"
    else:
        found = ", ".join("#" * lvl for lvl in levels)
        deeper = [lvl for lvl in levels if lvl > note.level]
        suggest = deeper[0] if deeper else levels[-1]
        why = (f"it has no {marker} headings (found {found}); use --heading-level {suggest} "
               f"or `anki-heading-level: {suggest}` in its frontmatter")
    return Diagnostic(Path(note.rel), offset + 1 if offset else None,
                      Level.INFO if navigation else Level.WARNING, "no-cards",
                      f"note gives no card: {why}")
