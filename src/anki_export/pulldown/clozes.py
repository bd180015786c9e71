"""Anki's `{{c1::text}}` and `{{c2::text::hint}}`, and `==highlights==` where the section asks
(`anki-cloze: highlights`), on pulldown-cmark's events, which read them as plain text: each
becomes the markers of `cloze.py` (`OPEN #i SEP`, then `HINT hint CLOSE` or `CLOSE`) and is
recorded in reading order, known by its text.

A cloze opens in text and closes at the first `}}` in text of the same block after it, its hint
after the first `::` before that; code, math and HTML between are part of its text. Clozes
inside math close at the first `}}` outside the TeX's own braces. Where a cloze cannot work
(in a heading, in an HTML block, unclosed, numbered outside 1 to 500, empty) the section says
so; embedded notes show clozes as typed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..cloze import CLOSE, HINT, MAX_NUMBER, OFF, OPEN, SEP, Cloze, _identity
from .marks import MARK_CLOSE, MARK_OPEN, tag_name

if TYPE_CHECKING:
    from ..render import RenderState

__all__ = ["ESCAPED", "highlight_clozes", "with_clozes"]

ESCAPED = "\ufdd5"
"""On each side of an escaped `:`, `{`, `}`, `#` or `=` (`pulldown.located`), until the HTML
is written: a character no note holds, which keeps it from making a cloze, tag or highlight."""

_OPENING = re.compile(r"\{\{c(\d+)::")  # Anki's opening marker
_ANY_OPENING = re.compile(r"\{\{c([\d,]*)::")  # also what Anki reads but we do not make cards of
_INLINE = frozenset({"Emphasis", "Strong", "Strikethrough", "Link", "Image"})
_IN_HEADING = ("a cloze in a heading cannot work: the heading is the card's context (and a "
               "basic card's question); move the cloze into the section's text")


def with_clozes(events: list[Any], state: RenderState, source: str) -> list[Any]:
    """The events with each cloze marked and recorded in `state.clozes` (a card's own text;
    with no `state.clozes`, a heading, each cloze is warned about). Embedded notes show
    clozes as typed: not called there."""
    return _Clozes(events, state, source).marked()


@dataclass(slots=True)
class _Open:
    """A cloze opened and not yet closed."""

    at: int  # the event of its opening
    match: re.Match[str]
    index: int  # in `ClozeScan.found`
    line: int
    hint: tuple[int, int] | None = None  # event and position of the `::` before its hint
    text: list[str] = field(default_factory=list)  # what it hides, so far


class _Clozes:
    """One pass over a section's events: the clozes open in the current block, innermost
    last, and the edits to make to the text events once each is known to close."""

    def __init__(self, events: list[Any], state: RenderState, source: str) -> None:
        self.events = events
        self.state = state
        self.source = source
        self.seen = 0  # where the last warned-about marker was found in the source
        self.edits: dict[int, list[tuple[int, int, str]]] = {}
        self.open: list[_Open] = []
        self.inside = ""  # "CodeBlock" or "HtmlBlock" in one, where no cloze is read

    def marked(self) -> list[Any]:
        for i, event in enumerate(self.events):
            self.step(i, event)
        self.unclosed()
        for i, edits in self.edits.items():
            text = self.events[i]["Text"]
            for start, end, marker in sorted(edits, reverse=True):
                text = text[:start] + marker + text[end:]
            self.events[i] = {"Text": text}
        return self.events

    def step(self, i: int, event: Any) -> None:
        if event.__class__ is str:
            self.feed("\n")
            if event == "Rule":
                self.unclosed()
            return
        (kind, value), = event.items()
        if kind in ("Start", "End"):
            name = tag_name(value)
            self.inside = name if kind == "Start" and name in ("CodeBlock", "HtmlBlock") else ""
            if name not in _INLINE:
                self.unclosed()
        elif kind == "Text" and not self.inside:
            self.in_text(i, value)
        elif kind in ("InlineMath", "DisplayMath"):
            self.feed(f"${value}$")
            self.events[i] = {kind: self.in_tex(value)}
        elif kind == "Html" and self.inside and (match := _ANY_OPENING.search(value)):
            self.state.warn("cloze-in-html", "a cloze inside an HTML block is shown as typed; "
                            "write it in Markdown, outside the HTML", self.line(match.group()))
        elif kind == "Code":
            self.feed(f"`{value}`")

    def feed(self, text: str) -> None:
        """Text of the source, to every open cloze before its hint."""
        for cloze in self.open:
            if cloze.hint is None:
                cloze.text.append(text)

    def in_text(self, i: int, value: str) -> None:
        pos = 0
        while True:
            opening = _ANY_OPENING.search(value, pos)
            close = value.find("}}", pos) if self.open else -1
            top = self.open[-1] if self.open else None
            hint = value.find("::", pos) if top and top.hint is None else -1
            first = min((at for at in (opening.start() if opening else -1, close, hint)
                         if at >= 0), default=-1)
            if first < 0:
                self.feed(value[pos:].replace(ESCAPED, ""))
                return
            self.feed(value[pos:first].replace(ESCAPED, ""))
            if opening is not None and first == opening.start():
                self.feed(opening.group())  # to the clozes around it
                self.opened(i, opening)
                pos = opening.end()
            elif top is not None and first == hint:
                top.hint, pos = (i, hint), hint + 2
            else:
                self.closed(i, close)
                self.feed("}}")
                pos = close + 2

    def opened(self, i: int, match: re.Match[str]) -> None:
        line = self.line(match.group())
        numbers = match.group(1)
        if self.state.clozes is None:
            self.state.warn("cloze-in-heading", _IN_HEADING, line)
        elif not numbers.isdigit() or not 1 <= int(numbers) <= MAX_NUMBER:
            self.state.warn("cloze-number", f"`{match.group()}` is not a cloze anki-export "
                            f"makes: write one number from 1 to {MAX_NUMBER}, e.g. `{{{{c1::`",
                            line)
        else:
            found = self.state.clozes.found
            self.open.append(_Open(i, match, len(found), line))
            found.append(Cloze(int(numbers), ""))  # its text once it closes

    def closed(self, i: int, at: int) -> None:
        assert self.state.clozes is not None
        cloze = self.open.pop()
        text = "".join(cloze.text)
        if not text.strip():
            self.state.warn("cloze-empty", "an empty cloze hides nothing: its card shows a gap "
                            "with nothing behind it; write the text to hide between `::` and "
                            "`}}`", cloze.line)
        self.edit(cloze.at, cloze.match.start(), cloze.match.end(), f"{OPEN}#{cloze.index}{SEP}")
        if cloze.hint is not None:
            self.edit(*cloze.hint, cloze.hint[1] + 2, HINT)
        self.edit(i, at, at + 2, CLOSE)
        self.state.clozes.found[cloze.index] = Cloze(int(cloze.match.group(1)), _identity(text))

    def edit(self, i: int, start: int, end: int, marker: str) -> None:
        self.edits.setdefault(i, []).append((start, end, marker))

    def unclosed(self) -> None:
        """The block ended with clozes open: they show as typed."""
        for cloze in self.open:
            self.state.warn("cloze-unclosed", f"`{cloze.match.group()}` is never closed with "
                            "`}}` in its paragraph; it shows as typed", cloze.line)
        self.open = []

    def in_tex(self, tex: str) -> str:
        """TeX with its clozes as markers: Anki hides text inside MathJax too. A cloze closes at
        the first `}}` outside the TeX's own braces (Anki itself stops at the first `}}`)."""
        if self.state.clozes is None:
            if _ANY_OPENING.search(tex):
                self.state.warn("cloze-in-heading", _IN_HEADING, 0)
            return tex
        out, pos = [], 0
        for match in _OPENING.finditer(tex):
            if match.start() < pos:
                continue  # a cloze inside a cloze in TeX: left as text
            found = _tex_closing(tex, match.end())
            if found is None or not 1 <= int(match.group(1)) <= MAX_NUMBER:
                self.state.warn("cloze-unclosed", f"`{match.group()}` in math is never closed "
                                "with `}}`; it shows as typed", self.line(match.group()))
                continue
            hint, close = found
            text = tex[match.end() : close if hint is None else hint]
            tail = CLOSE if hint is None else f"{HINT}{tex[hint + 2 : close]}{CLOSE}"
            out += [tex[pos : match.start()], f"{OPEN}#{len(self.state.clozes.found)}{SEP}",
                    text, tail]
            self.state.clozes.found.append(Cloze(int(match.group(1)), _identity(text)))
            pos = close + 2
        return "".join([*out, tex[pos:]])

    def line(self, marker: str) -> int:
        """The line (in the section) of the next `marker` in the source."""
        at = self.source.find(marker, self.seen)
        if at < 0:
            return 0
        self.seen = at + 1
        return self.source.count("\n", 0, at)


def _tex_closing(tex: str, start: int) -> tuple[int | None, int] | None:
    depth, hint, pos = 0, None, start
    while pos < len(tex):
        if tex[pos] == "\\":
            pos += 2
            continue
        if depth == 0 and tex.startswith("}}", pos):
            return hint, pos
        if depth == 0 and hint is None and tex.startswith("::", pos):
            hint = pos
        if tex[pos] == "{":
            depth += 1
        elif tex[pos] == "}" and depth:
            depth -= 1
        pos += 1
    return None


def highlight_clozes(events: list[Any], state: RenderState) -> list[Any]:
    """The events with each `==highlight==` (`marks.with_marks`) a cloze, as the section asked
    (`anki-cloze: highlights`), recorded in `state.clozes`, known by its text (the text of its
    parts: code's code, math's TeX)."""
    if state.clozes is None or state.clozes.highlights == OFF or state.depth:
        return events
    found = state.clozes.found
    out: list[Any] = []
    text: list[str] | None = None
    for event in events:
        if event == MARK_OPEN:
            out.append({"Text": f"{OPEN}#{len(found)}{SEP}"})
            text = []
            found.append(Cloze(None, ""))
        elif event == MARK_CLOSE and text is not None:
            out.append({"Text": CLOSE})
            found[-1] = Cloze(None, _identity("".join(text).replace(ESCAPED, "")))
            text = None
        else:
            if text is not None and event.__class__ is dict and "Start" not in event \
                    and "End" not in event:
                value = next(iter(event.values()))
                text.append(value if isinstance(value, str) else "")
            out.append(event)
    return out
