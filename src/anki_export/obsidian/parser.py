"""The markdown-it parser with every plugin: the reference renderer, and the fallback of the
fast path (`pulldown/`), loaded only when a section needs it.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING

from markdown_it import MarkdownIt
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.tasklists import tasklists_plugin

from ..cloze import cloze_plugin
from .callouts import callouts_plugin
from .code import HIGHLIGHTED, highlight_code, partly_highlighted
from .links import wikilinks_plugin
from .math import math_plugin
from .text import (
    block_ids_plugin,
    comments_plugin,
    inline_fields_plugin,
    mark_plugin,
    tags_plugin,
)

if TYPE_CHECKING:
    from markdown_it.renderer import RendererHTML, RendererProtocol
    from markdown_it.token import Token
    from markdown_it.utils import EnvType, OptionsDict

__all__ = ["markdown_parser"]


class _Markdown(MarkdownIt):
    def validateLink(self, url: str) -> bool:
        """Let every URL through to `sanitise`, the one place that decides what is safe:
        markdown-it would leave a refused `[x](javascript:…)` on the card as raw text."""
        return True


@cache
def markdown_parser() -> MarkdownIt:
    # breaks=True: a single newline is a line break in Obsidian and on the published garden.
    md = _Markdown("commonmark", {"html": True, "breaks": True, "highlight": highlight_code})
    md.enable(["table", "strikethrough"])
    for plugin in (comments_plugin, math_plugin, mark_plugin, footnote_plugin, tasklists_plugin,
                   wikilinks_plugin, tags_plugin, callouts_plugin, block_ids_plugin,
                   inline_fields_plugin, cloze_plugin):
        md.use(plugin)
    md.add_render_rule("footnote_ref", _footnote_ref)
    md.add_render_rule("footnote_anchor", lambda *_: "")
    md.add_render_rule("fence", _fence)
    return md


def _fence(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict,
           env: EnvType) -> str:
    """Fenced code as markdown-it writes it, saying so where it is too long to highlight."""
    token = tokens[idx]
    lang = (token.info.split(maxsplit=1) or [""])[0]
    if "render" in env and partly_highlighted(token.content, lang):
        env["render"].warn("code-too-long", f"a code block of {len(token.content):,} "
                           f"characters: the first {HIGHLIGHTED:,} are highlighted, the rest "
                           "shown as plain text; split it, or link to the file",
                           token.map[0] if token.map else 0)
    return self.fence(tokens, idx, options, env)


def _footnote_ref(self: RendererProtocol, tokens: Sequence[Token], idx: int,
                  options: OptionsDict, env: EnvType) -> str:
    """A plain `[1]`: in-page anchors would clash between a card's fields and embeds."""
    caption: str = self.rules["footnote_caption"](tokens, idx, options, env)  # type: ignore[attr-defined]
    return f'<sup class="footnote-ref">{caption}</sup>'
