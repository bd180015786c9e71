"""Small inline constructs: `%%comments%%`, `==highlights==`, `#tags`, ` ^block-ids`, and
Dataview's `(key:: value)` fields.

Comments and highlights are parser rules, so they never fire inside code; block ids and inline
fields are cleaned from the text tokens after inline parsing, where code is already set apart.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..cloze import record_highlight

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.renderer import RendererProtocol
    from markdown_it.rules_block import StateBlock
    from markdown_it.rules_core import StateCore
    from markdown_it.rules_inline import StateInline
    from markdown_it.token import Token
    from markdown_it.utils import EnvType, OptionsDict

TAG = re.compile(r"#([\w-]+(?:/[\w-]+)*)")
BLOCK_ID = re.compile(r"(?:^|[ \t]+)\^[A-Za-z0-9-]+[ \t]*$")
FIELD_OPEN = re.compile(r"\(\w[\w -]*::[ \t]*")


def comments_plugin(md: MarkdownIt) -> None:
    """`%%…%%`: removed from the card, whether inline, on lines of their own or spanning lines.

    Obsidian hides everything between two `%%`; an unclosed `%%` hides the rest of the note, here
    the rest of what is being rendered (the paragraph, or the section for a `%%` line). A comment
    that starts a line may span blank lines and headings; it ends with the line that holds the
    closing `%%`.
    """
    md.block.ruler.before("fence", "comment_block", _comment_block,
                          {"alt": ["paragraph", "reference", "blockquote", "list"]})
    md.inline.ruler.after("text", "comment_inline", _comment_inline)


def _comment_block(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    if state.sCount[start] - state.blkIndent >= 4:
        return False
    first = _line(state, start)
    if not first.startswith("%%"):
        return False
    rest = first[2:].rstrip()
    if "%%" in rest:
        if rest.find("%%") != len(rest) - 2:
            return False  # `%%a%% more text`: an inline comment in a paragraph
        last = start
    else:
        last = next((n for n in range(start + 1, end) if "%%" in _line(state, n)), end - 1)
    if not silent:
        state.line = last + 1
    return True


def _line(state: StateBlock, n: int) -> str:
    return state.src[state.bMarks[n] + state.tShift[n] : state.eMarks[n]]


def _comment_inline(state: StateInline, silent: bool) -> bool:
    if not state.src.startswith("%%", state.pos):
        return False
    close = state.src.find("%%", state.pos + 2, state.posMax)
    state.pos = state.posMax if close < 0 else close + 2
    return True


def mark_plugin(md: MarkdownIt) -> None:
    """`==text==` → `<mark>`, as Obsidian and markdown-it-mark do (not `===`, not `== x ==`);
    a cloze instead where the note or the config opted in (`anki-cloze: highlights`)."""
    md.inline.ruler.before("strikethrough", "mark", _mark)


def _mark(state: StateInline, silent: bool) -> bool:
    src, start, end = state.src, state.pos, state.posMax
    if not src.startswith("==", start) or src.startswith("=", start + 2) or (
            start and src[start - 1] == "="):
        return False
    if start + 2 >= end or src[start + 2].isspace():
        return False
    close = src.find("==", start + 3, end)
    while close >= 0 and (src[close - 1].isspace() or src[close - 1] == "="
                          or src.startswith("=", close + 2)):
        close = src.find("==", close + 1, end)
    if close < 0:
        return False
    if not silent and not record_highlight(state, start + 2, close):
        state.push("mark_open", "mark", 1).markup = "=="
        state.pos, state.posMax = start + 2, close
        state.md.inline.tokenize(state)  # the highlighted text keeps its own markup
        state.posMax = end
        state.push("mark_close", "mark", -1).markup = "=="
    state.pos = close + 2
    return True


def tags_plugin(md: MarkdownIt) -> None:
    """Inline `#tag` (Obsidian's rule: after a space or at the start, at least one letter):
    shown as a tag on the card and collected in `RenderState.tags` as an Anki tag (`a/b` →
    `a::b`). Code spans, link URLs and the `#` of headings never reach this rule."""
    md.inline.ruler.before("link", "tag", _tag)
    md.add_render_rule("obsidian_tag", _render_tag)


def _tag(state: StateInline, silent: bool) -> bool:
    if state.src[state.pos] != "#" or (state.pos and not state.src[state.pos - 1].isspace()):
        return False
    match = TAG.match(state.src, state.pos, state.posMax)
    if match is None or not any(c.isalpha() for c in match.group(1)):
        return False
    if not silent:
        state.push("obsidian_tag", "", 0).content = match.group(1)
        state.env["render"].tags.append(match.group(1).replace("/", "::"))
    state.pos = match.end()
    return True


def _render_tag(self: RendererProtocol, tokens: Sequence[Token], idx: int,
                options: OptionsDict, env: EnvType) -> str:
    return f'<span class="ae-tag">#{html.escape(tokens[idx].content)}</span>'


def block_ids_plugin(md: MarkdownIt) -> None:
    """Remove Obsidian block ids (` ^id` ending a paragraph, list item or heading, or alone on
    the line after a block): they address a block for links and embeds, they are not text."""
    md.core.ruler.after("text_join", "block_ids", _strip_block_ids)


def _strip_block_ids(state: StateCore) -> None:
    for i, token in enumerate(state.tokens):
        children = token.children
        if token.type != "inline" or not children or children[-1].type != "text":
            continue
        match = BLOCK_ID.search(children[-1].content)
        if match is None:
            continue
        children[-1].content = children[-1].content[: match.start()]
        if not children[-1].content:
            children.pop()
        while children and children[-1].type in {"softbreak", "hardbreak"}:
            children.pop()
        if not children and state.tokens[i - 1].type == "paragraph_open":
            state.tokens[i - 1].hidden = state.tokens[i + 1].hidden = True


def inline_fields_plugin(md: MarkdownIt) -> None:
    """Dataview's `(key:: value)` shows as `value`, as the garden's `hideDataview` does; the
    value keeps its markup (`(source:: [[Note]])` is still a link)."""
    md.core.ruler.after("text_join", "inline_fields", _unwrap_inline_fields)


def _unwrap_inline_fields(state: StateCore) -> None:
    for token in state.tokens:
        if token.type == "inline" and token.children:
            _unwrap_fields(token.children)


def _unwrap_fields(children: list[Token]) -> None:
    i = 0
    while i < len(children):
        child = children[i]
        opened = FIELD_OPEN.search(child.content) if child.type == "text" else None
        if opened is None or not _drop_closing_paren(children, i, opened.end()):
            i += 1
            continue
        child.content = child.content[: opened.start()] + child.content[opened.end() :]


def _drop_closing_paren(children: list[Token], first: int, start: int) -> bool:
    """Remove the `)` that closes a field opened in `children[first]` before `start`; it may sit
    in a later text token of the same level, after a link or emphasis inside the value."""
    depth = 0
    for i in range(first, len(children)):
        token = children[i]
        if token.type != "text" or token.level != children[first].level:
            continue
        for pos in range(start if i == first else 0, len(token.content)):
            char = token.content[pos]
            depth += (char == "(") - (char == ")")
            if depth < 0:
                token.content = token.content[:pos] + token.content[pos + 1 :]
                return True
    return False
