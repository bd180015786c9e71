"""Property-based: no Markdown or frontmatter, however odd, crashes a build with a traceback.

A build may refuse input (an `AnkiExportError` with a message naming the file), but it must
never raise anything else, and whatever it writes must import into Anki.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anki_export.build import build
from anki_export.config import Config
from anki_export.errors import AnkiExportError

MARKDOWN_PIECES = [
    "## ", "# ", "### ", "\n", "\n\n", "- ", "\t- ", "    - ", "1. ", "> ", "> [!note] ",
    "> [!tip]- ", "```", "`", "**", "_", "==", "%%", "$", "$$", "[[", "]]", "|", "\\|", "![[",
    "#tag ", "^pin", "<b>", "</b>", "<script>", "{{c1::", "}}", "[^1]", "| a | b |\n|---|---|\n",
    "---\n", "Hallmark", "Imaging", ":", "?", "é", "🦴", "\x00", "\x1f", "\r\n", " ", "x",
]
FRONTMATTER = st.one_of(
    st.just(""),
    st.just('---\n{"dg-publish":true,"permalink":"/p/"}\n---\n'),
    st.builds(lambda k, v: f"---\n{k}: {v}\n---\n",
              st.sampled_from(["dg-publish", "permalink", "dg-path", "title", "tags", "anki",
                               "anki-heading-level", "anki-deck", "x"]),
              st.text(max_size=20)),
    st.builds(lambda s: f"---\n{s}\n---\n", st.text(max_size=40)),
)
NOTE = st.builds(lambda fm, body: fm + "".join(body), FRONTMATTER,
                 st.lists(st.sampled_from(MARKDOWN_PIECES) | st.text(max_size=8), max_size=40))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(notes=st.lists(NOTE, min_size=1, max_size=4), all_notes=st.booleans(),
       keep_going=st.booleans(), root_deck=st.sampled_from([None, "Med", "Med::", " A :: B "]),
       tags=st.sampled_from([(), ("",), ("a b", "x/y")]))
def test_random_notes_never_crash_the_build(notes: list[str], all_notes: bool, keep_going: bool,
                                            root_deck: str | None,
                                            tags: tuple[str, ...]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        vault = Path(tmp) / "vault"
        for i, text in enumerate(notes):
            path = vault / f"Folder {i % 2}" / f"Note {i}.md"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text.encode("utf-8", "surrogatepass"))
        config = Config(vault=vault, output=Path(tmp) / "out", published_only=not all_notes,
                        keep_going=keep_going, root_deck=root_deck, tags=tags)
        try:
            build(config)
        except AnkiExportError as e:
            assert str(e)
