#!/usr/bin/env python3
"""`anki-export` with its section writer swapped for pyromark's own, compiled, HTML writer.

    python benchmarks/pyromark_writer.py build VAULT -o OUT      # as `anki-export build`

The cards come out wrong (no wiki-links resolved, no highlights, callouts, tags or line
breaks, nothing sanitised, and no images: their files are neither digested nor zipped), so
this is no tool: it answers about what the cold build would cost if the writer were free of
Python, the fast path's checks, events and writer (`pulldown/`) all done in Rust; a little
less, as the images' work goes too. `run.py` measures it as `cold-pyromark-writer`: where
that is still over twice the floor, a compiled writer alone cannot meet issue 6's first
target.
"""

from __future__ import annotations

from anki_export import render
from anki_export.cli import main
from anki_export.pulldown import _parser
from anki_export.render import RenderState


def compiled_writer(markdown: str, state: RenderState) -> tuple[str, bool]:
    return _parser().html(markdown), True


render.render_events = compiled_writer  # type: ignore[attr-defined]

if __name__ == "__main__":
    main()
