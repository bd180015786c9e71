"""Callouts: a blockquote whose first line is `[!type|meta]±? Title` becomes a styled box.

Same reading as the garden template and Obsidian: the type (lowercased) picks the colour, an empty
title shows the type capitalised, `-` folds the box shut and `+` makes it foldable but open, both
as `<details>` so folding works in Anki without JavaScript. Done as a core rule over the
blockquote tokens before inline parsing, so nested callouts, callouts in lists and a title with
Markdown in it all come for free.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.rules_core import StateCore
    from markdown_it.token import Token

CALLOUT = re.compile(r"\[!([\w-]+)(?:\|([^\]]*))?\]([+-]?)[ \t]*(.*)")


@dataclass(frozen=True, slots=True)
class _Callout:
    """The `[!type|meta]±` marker that opens a callout."""

    kind: str
    meta: str
    fold: str  # "", "+" (open) or "-" (closed)
    title: str

    @property
    def tag(self) -> str:
        return "details" if self.fold else "div"


def callouts_plugin(md: MarkdownIt) -> None:
    md.core.ruler.after("block", "callouts", _callouts)


def _callouts(state: StateCore) -> None:
    tokens: list[Token] = []
    open_quotes: list[_Callout | None] = []
    i = 0
    while i < len(state.tokens):
        token = state.tokens[i]
        if token.type == "blockquote_open":
            callout = _callout_at(state.tokens, i)
            open_quotes.append(callout)
            if callout is not None:
                tokens += _open(callout, state.tokens, i)
                i += 4
                continue
        elif token.type == "blockquote_close" and (callout := open_quotes.pop()) is not None:
            if tokens[-1].type == "callout_content_open":
                tokens.pop()  # a title-only callout
            else:
                tokens.append(_token("callout_content_close", "div", -1))
            tokens.append(_token("callout_close", callout.tag, -1))
            i += 1
            continue
        tokens.append(token)
        i += 1
    state.tokens = tokens


def _callout_at(tokens: list[Token], i: int) -> _Callout | None:
    """The callout a blockquote opens, read from the first line of its first paragraph."""
    if i + 3 >= len(tokens) or tokens[i + 1].type != "paragraph_open":
        return None
    match = CALLOUT.fullmatch(tokens[i + 2].content.split("\n", 1)[0].rstrip())
    if match is None:
        return None
    kind, meta, fold, title = match.groups()
    return _Callout(kind.lower(), (meta or "").strip(), fold, title.strip())


def _open(callout: _Callout, tokens: list[Token], i: int) -> list[Token]:
    """Tokens replacing `blockquote_open` and its first paragraph: box, title, content, and
    what is left of the paragraph after the marker line."""
    quote, paragraph_open, inline, paragraph_close = tokens[i : i + 4]
    box = _token("callout_open", callout.tag, 1, lines=quote.map)
    box.attrs = {"class": "callout", "data-callout": callout.kind}
    if callout.meta:
        box.attrs["data-callout-metadata"] = callout.meta
    if callout.fold == "+":
        box.attrs["open"] = ""
    line = inline.map[0] if inline.map else 0
    title = _token("inline", "", 0, lines=[line, line + 1],
                   content=callout.title or callout.kind.capitalize())
    title.children = []
    opened = [box, _token("callout_title_open", "summary" if callout.fold else "div", 1,
                          attrs={"class": "callout-title"}),
              title,
              _token("callout_title_close", "summary" if callout.fold else "div", -1),
              _token("callout_content_open", "div", 1, attrs={"class": "callout-content"})]
    rest = inline.content.partition("\n")[2]
    if rest.strip():
        inline.content = rest.lstrip(" \t")  # a lazy line's indent is not text
        inline.map = [line + 1, inline.map[1]] if inline.map else None
        opened += [paragraph_open, inline, paragraph_close]
    return opened


def _token(kind: str, tag: str, nesting: Literal[-1, 0, 1], *, lines: list[int] | None = None,
           attrs: dict[str, str | int | float] | None = None, content: str = "") -> Token:
    from markdown_it.token import Token

    return Token(kind, tag, nesting, attrs=attrs or {}, map=lines, content=content, block=True)
