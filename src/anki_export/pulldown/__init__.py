"""Card HTML straight from pulldown-cmark's event stream (pyromark): the fast path of `render`.

markdown-it-py renders about 3,000 sections a second, pulldown-cmark over 100,000; rendering was
nine tenths of a cold build. This writer covers what most sections hold (CommonMark, tables,
wiki-links, images, `$math$`, `==highlights==`, `#tags`, callouts, footnotes, task lists, raw
HTML, block ids, inline fields) and writes exactly the HTML that the markdown-it path writes,
tag for tag and newline for newline, so either path gives the same card; its warnings name
the same lines (from the byte offsets of `pyromark.events_with_range`). Anything else
(clozes, comments outside code, note embeds, the shapes `supported` lists) raises
`Unsupported` and `render.render_markdown` falls back to markdown-it-py, the reference:
`tests/test_pulldown.py` renders the golden cases and generated vaults both ways and requires
the same bytes wherever this path answers.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING, Any

import pyromark

from ..cloze import OFF, Cloze
from .clozes import SourceCloze, highlight_clozes, source_clozes, with_clozes
from .marks import (
    comments_in_code_only,
    inline_footnotes,
    with_marks,
    without_block_ids,
    without_field_keys,
)
from .supported import Unsupported, comment_tail_cut, math_blanks_filled, supported
from .writer import SAFE_URL, Lines, Writer

if TYPE_CHECKING:
    from ..render import RenderState

__all__ = ["Unsupported", "render_events", "supported"]


_OPTIONS = (pyromark.Options.ENABLE_TABLES | pyromark.Options.ENABLE_STRIKETHROUGH
            | pyromark.Options.ENABLE_MATH | pyromark.Options.ENABLE_WIKILINKS
            | pyromark.Options.ENABLE_TASKLISTS | pyromark.Options.ENABLE_FOOTNOTES
            | pyromark.Options.ENABLE_SUBSCRIPT)
"""Subscript only to keep a single `~` from pairing as a strike (GFM's reading): where no pair
of them makes a subscript (`located` declines one), every single `~` is text, as in
markdown-it."""


@cache
def _parser() -> pyromark.Markdown:
    return pyromark.Markdown(options=_OPTIONS)


def located(events: Iterable[tuple[Any, Any]]) -> list[Any]:
    """The events as `pyromark.events` gives them (adjacent text merged), each link, image and
    fenced code block with its byte offset (`at`) in the source: where warnings about it point
    (`Lines`)."""
    out: list[Any] = []
    for event, span in events:
        if event.__class__ is not dict:
            out.append(event)
            continue
        text = event.get("Text")
        if text is None and event.get("Start") == "Subscript":
            raise Unsupported  # `~x~`: text to markdown-it; pulldown-cmark's pairing of
            # single tildes also undoes emphasis (`~a *b~ c*`) that markdown-it keeps
        if text is not None and out and out[-1].__class__ is dict and "Text" in out[-1]:
            out[-1] = {"Text": out[-1]["Text"] + text}
            continue
        start = event.get("Start")
        if start.__class__ is dict:
            (name, value), = start.items()
            if name in ("Link", "Image") or (name == "CodeBlock" and value.__class__ is dict):
                value["at"] = span["start"]
        out.append(event)
    return out


def render_events(markdown: str, state: RenderState) -> tuple[str, bool]:
    """The section's HTML, and whether it is clean already: written only here, in the form
    nh3 gives back (see `escape`), from safe parts; then it needs no sanitising. Media, tags
    and clozes go into `state` only when the section renders here."""
    site_url = state.targets.site_url if state.targets else None
    if not supported(markdown) or (site_url and not SAFE_URL.match(site_url)):
        raise Unsupported
    found = state.clozes.found if state.clozes is not None else []
    clozes = source_clozes(markdown, state.clozes, state.depth) if "{{" in markdown else []
    highlights = bool(state.clozes and state.clozes.highlights != OFF and "==" in markdown)
    if highlights and (clozes or state.depth or "\\" in markdown):
        raise Unsupported  # clozes of both kinds; an escape that the highlight's text hides
    scratch = type(state)(state.note, state.line, state.targets, state.depth)  # a RenderState
    if "%%" in markdown:
        markdown = comment_tail_cut(markdown)
    if "$$" in markdown:
        markdown = math_blanks_filled(markdown)
    if "\x00" in markdown:
        markdown = markdown.replace("\x00", "\ufffd")  # see `supported._CONTROL`
    events = _passes(located(_parser().events_with_range(markdown)), markdown, clozes,
                     len(found))
    marked: list[Cloze] = []
    if highlights:
        events, marked = highlight_clozes(events, len(found))
    writer = Writer(events, scratch, Lines(markdown))
    html = writer.document() + writer.footnotes()
    state.media += scratch.media
    state.tags += scratch.tags
    state.diagnostics += scratch.diagnostics
    found += [c.cloze for c in clozes] + marked
    return html, not writer.foreign


def _passes(events: list[Any], markdown: str, clozes: list[SourceCloze],
            first: int) -> list[Any]:
    """The events with the Obsidian syntax pulldown-cmark does not read (`marks`, `clozes`)
    marked or taken out, in markdown-it's order; each pass only where its syntax may be."""
    if "%%" in markdown and not comments_in_code_only(events, markdown):
        raise Unsupported
    if clozes:
        events = with_clozes(events, clozes, first)
    if "::" in markdown:
        events = without_field_keys(events)
    if "^" in markdown:  # after the fields, as in markdown-it
        events = without_block_ids(events)
    if "^[" in markdown:
        events = inline_footnotes(events)
    if "==" in markdown:
        events = with_marks(events)
    return events
