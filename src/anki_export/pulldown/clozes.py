"""Anki's `{{c1::text}}` and `{{c2::text::hint}}` on pulldown-cmark's events, which read them as
plain text: each becomes the markers `cloze.py`'s markdown-it rule writes (`OPEN #i SEP`, then
`HINT hint CLOSE` or `CLOSE`), and is recorded with the same number and identity.

Only clozes written plainly on one line are taken: no code, math, link, HTML, escape or brace
inside, no `::` but the hint's; the rest (and clozes beside footnotes or inline fields, whose
order or text markdown-it reads otherwise) is left to markdown-it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..cloze import CLOSE, HINT, MAX_NUMBER, OPEN, SEP, Cloze, ClozeScan, _identity
from ..obsidian.text import FIELD_OPEN
from .marks import MARK_CLOSE, MARK_OPEN, _in_code, tag_name
from .supported import Unsupported

__all__ = ["SourceCloze", "highlight_clozes", "source_clozes", "with_clozes"]


@dataclass(frozen=True, slots=True)
class SourceCloze:
    """One cloze as written in the section: what opens it, what ends it, what it records."""

    opening: str  # `{{c3::`
    ending: str  # `::hint}}` or `}}`
    cloze: Cloze
    marker_end: str  # `HINT hint CLOSE` or `CLOSE`


_PLAIN = r"[^{}\n`$\[\]<>\\&|%=~#^:]"
_CLOZE = re.compile(rf"\{{\{{c(\d+)::((?:{_PLAIN}|:(?!:))*+)(?:::((?:{_PLAIN}|:)*+))?\}}\}}")
_HINT_MARKUP = re.compile(r"[*_]")


def source_clozes(markdown: str, scan: ClozeScan | None, depth: int) -> list[SourceCloze]:
    """The section's clozes, when every `{{` and `}}` of it opens or closes one written plainly
    (see the module docstring), in a card's own text (`scan` and `depth` as in
    `RenderState`); else Unsupported."""
    if ("[^" in markdown or "^[" in markdown or FIELD_OPEN.search(markdown)
            or re.search(r"\\[{}:]", markdown) or scan is None or depth):
        raise Unsupported  # footnotes move, fields lose their key, `\{` is no cloze to
        # markdown-it but text `{` to pulldown-cmark; in a heading or an embedded note,
        # markdown-it shows clozes as typed
    found = []
    for match in _CLOZE.finditer(markdown):
        number, text, hint = int(match.group(1)), match.group(2), match.group(3)
        if not 1 <= number <= MAX_NUMBER or not text.strip() or (
                hint is not None and _HINT_MARKUP.search(hint)):
            raise Unsupported  # warned about by markdown-it, or a hint pulldown-cmark parses
        found.append(SourceCloze(
            f"{{{{c{match.group(1)}::", "}}" if hint is None else f"::{hint}}}}}",
            Cloze(number, _identity(text)),
            CLOSE if hint is None else f"{HINT}{hint}{CLOSE}"))
    if not found or markdown.count("{{") != len(found) or markdown.count("}}") != len(found):
        raise Unsupported
    return found


def with_clozes(events: list[Any], clozes: list[SourceCloze], first: int) -> list[Any]:
    """The events with each cloze's opening and ending replaced by its markers (numbered from
    `first`, the clozes recorded before this section's), found in text in the order written,
    its ending at the opening's level with nothing closed between (else Unsupported)."""
    marking = _Marking(clozes, first)
    in_code = False
    for i, event in enumerate(events):
        in_code = _in_code(event, in_code)
        if event.__class__ is not dict:
            continue
        (kind, value), = event.items()
        if kind in ("Start", "End"):
            marking.element(tag_name(value), opens=kind == "Start")
        elif kind == "Text" and not in_code:
            events[i] = {"Text": marking.text(value)}
    if marking.done < len(clozes):
        raise Unsupported  # one in code, math, a link's target or HTML
    return events


class _Marking:
    """Where `with_clozes` is: the clozes marked so far, the depth of inline elements, and
    that of the open cloze's opening."""

    def __init__(self, clozes: list[SourceCloze], first: int) -> None:
        self.clozes = clozes
        self.first = first
        self.done = 0
        self.depth = 0
        self.opened: int | None = None

    def element(self, name: str, *, opens: bool) -> None:
        if name not in _INLINE:
            if self.opened is not None:
                raise Unsupported  # a cloze over a block's end
            return
        self.depth += 1 if opens else -1
        if self.opened is not None and self.depth < self.opened:
            raise Unsupported  # over the end of the emphasis it opened in

    def text(self, value: str) -> str:
        pos = 0
        while self.done < len(self.clozes):
            cloze = self.clozes[self.done]
            wanted = cloze.opening if self.opened is None else cloze.ending
            at = value.find(wanted, pos)
            if at < 0:
                break
            if self.opened is None:
                marker = f"{OPEN}#{self.first + self.done}{SEP}"
                self.opened = self.depth
            elif self.depth != self.opened:
                raise Unsupported
            else:
                marker = cloze.marker_end
                self.opened = None
                self.done += 1
            value = value[:at] + marker + value[at + len(wanted) :]
            pos = at + len(marker)
        return value


_INLINE = frozenset({"Emphasis", "Strong", "Strikethrough"})


def highlight_clozes(events: list[Any], first: int) -> tuple[list[Any], list[Cloze]]:
    """The events with each `==highlight==` (`marks.with_marks`) a cloze, as the section asked
    (`anki-cloze: highlights`), numbered from `first`; and those clozes, each known by its
    text. Only highlights of plain text: markdown-it knows one by the Markdown inside it."""
    found: list[Cloze] = []
    out: list[Any] = []
    for i, event in enumerate(events):
        if event == MARK_OPEN:
            inner = events[i + 1]
            if events[i + 2] != MARK_CLOSE or inner.__class__ is not dict or "Text" not in inner:
                raise Unsupported
            out.append({"Text": f"{OPEN}#{first + len(found)}{SEP}"})
            found.append(Cloze(None, _identity(inner["Text"])))
        elif event == MARK_CLOSE:
            out.append({"Text": CLOSE})
        else:
            out.append(event)
    return out, found
