#!/usr/bin/env python3
"""How many sections a build renders on the pulldown fast path, and how many on markdown-it.

    python benchmarks/fastpath.py VAULT OUT        # prints one JSON line

Runs `anki-export build VAULT -o OUT` in this process with `render.render_events` (the fast
path, which raises `Unsupported` where `pulldown/supported.py` or its writer leaves a section
to markdown-it) wrapped by a counter in shared memory, so the forked render workers count too.
Every section a cold build renders is counted, intros included, skipped headings not. `run.py`
reports the share as *fast path*; the build itself is not timed.
"""

from __future__ import annotations

import json
import multiprocessing
import sys

from anki_export import render
from anki_export.cli import cli
from anki_export.pulldown import Unsupported

COUNTS = multiprocessing.Array("q", 2)  # fast path, markdown-it; shared with forked workers
_fast_path = render.render_events


def counted(markdown: str, state: render.RenderState) -> tuple[str, bool]:
    try:
        result = _fast_path(markdown, state)
    except Unsupported:
        with COUNTS.get_lock():
            COUNTS[1] += 1
        raise
    with COUNTS.get_lock():
        COUNTS[0] += 1
    return result


def main(argv: list[str]) -> int:
    render.render_events = counted  # type: ignore[attr-defined]
    vault, out = argv
    try:
        cli(["build", vault, "-o", out, "--quiet"], standalone_mode=False)
    except SystemExit as e:  # click's own exit, say for a failed build
        if e.code:
            return int(e.code) if isinstance(e.code, int) else 1
    fast, fallback = COUNTS[0], COUNTS[1]
    print(json.dumps({"sections": fast + fallback, "fast_path": fast, "markdown_it": fallback,
                      "fast_path_share": round(fast / max(1, fast + fallback), 4)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
