"""Obsidian and Digital Garden syntax as markdown-it plugins, one function each.

Each plugin adds rules to the token stream instead of rewriting HTML afterwards, so code spans
and fences are never touched and every construct knows its source line. Vault lookups reach the
rules through `env["render"]`, the `RenderState` of the Markdown being rendered.
"""

from .callouts import callouts_plugin
from .code import highlight_code, pygments_css
from .links import page_url, wikilinks_plugin
from .math import math_plugin
from .text import (
    block_ids_plugin,
    comments_plugin,
    inline_fields_plugin,
    mark_plugin,
    tags_plugin,
)

__all__ = [
    "block_ids_plugin",
    "callouts_plugin",
    "comments_plugin",
    "highlight_code",
    "inline_fields_plugin",
    "mark_plugin",
    "math_plugin",
    "page_url",
    "pygments_css",
    "tags_plugin",
    "wikilinks_plugin",
]
