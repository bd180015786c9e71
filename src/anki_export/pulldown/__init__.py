"""Card HTML straight from pulldown-cmark's event stream (pyromark): the fast path of `render`.

markdown-it-py renders about 3,000 sections a second, pulldown-cmark over 100,000; rendering was
nine tenths of a cold build. This writer covers what most sections hold (CommonMark, tables,
wiki-links, images, `$math$`, `==highlights==`, `#tags`, callouts, footnotes, task lists, raw
HTML) and writes exactly the HTML that the markdown-it path writes, tag for tag and newline for
newline, so either path gives the same card. Anything else (clozes, comments, note embeds,
block ids, inline fields, any warning) raises `Unsupported` and `render.render_markdown` falls back
to markdown-it-py, which stays the reference: `tests/test_pulldown.py` renders the golden cases
and generated vaults both ways and requires the same bytes wherever this path answers.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import pyromark

from ..cloze import OFF
from .marks import inline_footnotes, with_marks
from .supported import Unsupported, supported
from .writer import SAFE_URL, Writer

if TYPE_CHECKING:
    from ..render import RenderState

__all__ = ["Unsupported", "render_events", "supported"]


_OPTIONS = (pyromark.Options.ENABLE_TABLES | pyromark.Options.ENABLE_STRIKETHROUGH
            | pyromark.Options.ENABLE_MATH | pyromark.Options.ENABLE_WIKILINKS
            | pyromark.Options.ENABLE_TASKLISTS | pyromark.Options.ENABLE_FOOTNOTES)


@cache
def _parser() -> pyromark.Markdown:
    return pyromark.Markdown(options=_OPTIONS)


def render_events(markdown: str, state: RenderState) -> tuple[str, bool]:
    """The section's HTML, and whether it is clean already: written only here, in the form
    nh3 gives back (see `escape`), from safe parts; then it needs no sanitising. Media and
    tags go into `state` only when the section renders here."""
    site_url = state.targets.site_url if state.targets else None
    if (not supported(markdown) or (state.clozes and state.clozes.highlights != OFF)
            or (site_url and not SAFE_URL.match(site_url))):
        raise Unsupported
    scratch = type(state)(state.note, state.line, state.targets, state.depth)  # a RenderState
    events = list(_parser().events(markdown))
    if "^[" in markdown:
        events = inline_footnotes(events)
    if "==" in markdown:
        events = with_marks(events)
    writer = Writer(events, scratch)
    html = writer.document() + writer.footnotes()
    if scratch.diagnostics:
        raise Unsupported  # markdown-it knows the line to name
    state.media += scratch.media
    state.tags += scratch.tags
    return html, not writer.foreign
