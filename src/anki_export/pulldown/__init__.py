"""Card HTML from pulldown-cmark's event stream (pyromark): how `render` renders every section.

pulldown-cmark reads CommonMark and GFM (tables, strikes, task lists, footnotes) with math and
wiki-links; passes over its events add the Obsidian syntax it does not read (`marks`, `clozes`:
highlights, inline footnotes, block ids, inline fields, clozes), and the writer (`writer`)
writes callouts, tags, embeds and the rest as Obsidian and the garden show them. Its warnings
name their lines from the byte offsets of `pyromark.events_with_range`. pulldown-cmark renders
over 100,000 sections a second; rendering was nine tenths of a cold build with markdown-it-py.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING, Any

import pyromark

from ..escape import CONTROL
from ..obsidian.math import MATH_BLANK, math_blanks_filled
from ..parse import mask_comments
from .clozes import ESCAPED, highlight_clozes, with_clozes
from .marks import (
    inline_footnotes,
    tag_name,
    with_marks,
    without_block_ids,
    without_field_keys,
)
from .writer import SAFE_URL, Lines, Writer

if TYPE_CHECKING:
    from ..render import RenderState

__all__ = ["render_events"]


_OPTIONS = (pyromark.Options.ENABLE_TABLES | pyromark.Options.ENABLE_STRIKETHROUGH
            | pyromark.Options.ENABLE_MATH | pyromark.Options.ENABLE_WIKILINKS
            | pyromark.Options.ENABLE_TASKLISTS | pyromark.Options.ENABLE_FOOTNOTES
            | pyromark.Options.ENABLE_SUBSCRIPT)
"""Subscript only to keep a single `~` from pairing as a strike (GFM's reading): `located` turns
a subscript's tildes back into text, as Obsidian shows them."""


@cache
def _parser() -> pyromark.Markdown:
    return pyromark.Markdown(options=_OPTIONS)


def located(events: Iterable[tuple[Any, Any]], source: bytes | None = None) -> list[Any]:
    """The events as `pyromark.events` gives them (adjacent text merged), each link, image and
    fenced code block with its byte offsets (`at`, `end`) in the source: where warnings about
    it point (`Lines`), and a wiki-link's source (`Writer.wiki_parts`). Given the `source`, an
    escaped `:`, `{`, `}`, `#` or `=` keeps `ESCAPED` on each side, so that it opens, ends or
    splits no cloze, tag or highlight (`render_events` takes them out of the HTML)."""
    out: list[Any] = []
    for event, span in events:
        if event.__class__ is not dict:
            out.append(event)
            continue
        text = event.get("Text")
        if text is None and tag_name(event.get("Start", event.get("End", ""))) == "Subscript":
            text = "~"  # `~x~` is text in Obsidian (see `_OPTIONS`)
            event = {"Text": text}
        if source and text and text[0] in ":{}#=" and source[span["start"] - 1] == 92:
            text = f"{ESCAPED}{text[0]}{ESCAPED}{text[1:]}"  # after a backslash
            event = {"Text": text}
        if text is not None and out and out[-1].__class__ is dict and "Text" in out[-1]:
            out[-1] = {"Text": out[-1]["Text"] + text}
            continue
        start = event.get("Start")
        if start.__class__ is dict:
            (name, value), = start.items()
            if name in ("Link", "Image") or (name == "CodeBlock" and value.__class__ is dict):
                value["at"], value["end"] = span["start"], span["end"]
        out.append(event)
    return out


def render_events(markdown: str, state: RenderState) -> tuple[str, bool]:
    """The section's HTML, and whether it is clean already: written only here, in the form
    nh3 gives back (see `escape`), from safe parts; then it needs no sanitising. Control
    characters go first: no field keeps them (`escape.field`), and nh3 drops some itself."""
    if CONTROL.search(markdown):
        markdown = CONTROL.sub("", markdown)
    if "%%" in markdown:
        markdown = mask_comments(markdown, rest=True, blank=b"")
    if "$$" in markdown:
        markdown = math_blanks_filled(markdown)
    escapes = "\\" in markdown
    events = _passes(located(_parser().events_with_range(markdown),
                             markdown.encode() if escapes else None), markdown, state)
    writer = Writer(events, state, Lines(markdown))
    html = writer.document() + writer.footnotes()
    if escapes:
        html = html.replace(ESCAPED, "")
    if "$$" in markdown and MATH_BLANK in html:  # a blank line filled in what pulldown-cmark
        html = html.replace(MATH_BLANK, "")  # did not read as display math after all
    site_url = state.targets.site_url if state.targets else None
    return html, not writer.foreign and not (site_url and not SAFE_URL.match(site_url))


def _passes(events: list[Any], markdown: str, state: RenderState) -> list[Any]:
    """The events with the Obsidian syntax pulldown-cmark does not read (`clozes`, `marks`)
    marked or taken out; each pass only where its syntax may be."""
    if "{{" in markdown and not state.depth:
        events = with_clozes(events, state, markdown)
    if "::" in markdown:
        events = without_field_keys(events)
    if "^" in markdown:  # after the fields
        events = without_block_ids(events)
    if "==" in markdown:  # before the inline footnotes, which may hold highlights
        events = highlight_clozes(with_marks(events), state)
    if "^[" in markdown:
        events = inline_footnotes(events)
    return events
