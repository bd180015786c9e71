"""Obsidian syntax as markdown-it plugins, one function each.

Each plugin adds a rule to the token stream instead of rewriting HTML afterwards, so code spans
and fences are never touched and every construct knows its source line. Vault lookups reach the
rules through `env["render"]`, the `RenderState` of the section being rendered.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline

if TYPE_CHECKING:
    from .render import RenderState

WIKILINK = re.compile(r"\[\[([^\[\]\n]+?)\]\]")


def wikilinks_plugin(md: MarkdownIt) -> None:
    """`[[target]]`, `[[target|alias]]`, `[[target\\|alias]]` (the escaped pipe of tables and of
    the Digital Garden's published form), `[[target#Heading]]`, `[[#Heading]]`."""
    md.inline.ruler.before("link", "wikilink", _wikilink_rule)
    md.add_render_rule("wikilink", _render_wikilink)


def _wikilink_rule(state: StateInline, silent: bool) -> bool:
    if not state.src.startswith("[[", state.pos):
        return False
    match = WIKILINK.match(state.src, state.pos)
    if match is None:
        return False
    if not silent:
        target, _, alias = match.group(1).replace("\\|", "|").partition("|")
        token = state.push("wikilink", "", 0)
        token.meta = {"target": target.strip(), "alias": alias.strip()}
    state.pos = match.end()
    return True


def _render_wikilink(self: object, tokens: list, idx: int, options: object, env: dict) -> str:  # type: ignore[type-arg]
    state: RenderState = env["render"]
    meta = tokens[idx].meta
    return state.wikilink_html(meta["target"], meta["alias"])
