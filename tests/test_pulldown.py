"""The one renderer (`pulldown/`, on pulldown-cmark's events) on whatever a section holds.

Every golden case, thousands of generated sections and headings and the fixture vault are
rendered; each card must be well-formed and sanitised (HTML the writer calls clean must be what
the sanitiser gives back), and rendering again must give the same card.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from anki_export import pulldown
from anki_export.cloze import MODES, OFF, ClozeScan
from anki_export.pulldown import urls
from anki_export.render import Rendered, RenderState, render_inline, render_markdown, sanitise
from tests.test_render import FIXTURES, NOTE, SITE_URL, golden_cases, shown, vault_targets


def rendered(markdown: str, site_url: str | None = SITE_URL, highlights: str = OFF) -> str:
    """The golden text of a section's card, once checked: the writer's clean HTML is what the
    sanitiser gives back, no marker of its own is left, the card is well-formed, and a second
    rendering is the same."""
    targets = vault_targets(site_url)
    state = RenderState(NOTE, 1, targets, clozes=ClozeScan(highlights))
    html, clean = pulldown.render_events(markdown, state)
    if clean:
        assert sanitise(html, state.image_src(markdown)) == html
    card = shown(state.result(html, clean=clean, source=markdown))
    assert not re.search("[\ufdd0-\ufdd5]", card), "a marker of the writer's left on the card"
    again = render_markdown(markdown, RenderState(NOTE, 1, vault_targets(site_url),
                                                  clozes=ClozeScan(highlights)))
    assert shown(again) == card
    assert_well_formed(again)
    return card


class _Tags(HTMLParser):
    VOID = frozenset({"br", "hr", "img", "input", "col", "wbr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open}"
        self.open.pop()


def assert_well_formed(result: Rendered) -> None:
    tags = _Tags()
    tags.feed(result.html)
    tags.close()
    assert tags.open == [], f"never closed: {tags.open}"


@pytest.mark.parametrize(("path", "number", "markdown", "expected"), golden_cases())
def test_golden_cases_render_well_formed_and_stable(path: Path, number: int, markdown: str,
                                                    expected: str) -> None:
    assert rendered(markdown, None if path.stem == "no-site-url" else SITE_URL) == expected


WORDS = ["plain", "word", "x", "Bence", "IL-6", "50%", "< 10", "a > b", "\"q\"", "it's", "a&b",
         "1.", "-", "+", "*", "**", "_", "__", "`", "``", "$", "$$", "==", "=", "#", "#tag",
         "#a/b-c", "#1", "(", ")", "[", "]", "!", "|", "\\|", "\\", "~~", ":", "[!note]",
         "[!tip]-", "[!warning|wide]+", "[[Other note]]", "[[Topic/Sibling|the sibling]]",
         "[[Other note#Part two]]", "[[#Local]]", "[[Missing]]", "[[Other note\\|alias]]",
         "![[scan.png]]", "![[scan.png|300]]", "![[my figure.png|a figure|200x100]]",
         "![[missing.png]]", "[a link](https://example.org/a_b)", "[note](Other%20note.md)",
         "![alt](attachments/scan.png)", "![](https://example.org/p.png)", "$x^2$",
         "$\\frac{a}{b}$", "$5", "`code ==x== #t`", "*em*", "**strong**", "==mark==",
         "~~gone~~", "~", "~x~", "~a ~~b~~ c~", "y ~ x", "a_b_c", "\t", "    ", "\x00", "\x0b",
         "\x0c", "\x1f",
         "\xa0", "a\u2028b", "é",
         "[x](javascript:alert(1))", "[y](JAVASCRIPT:x)", "[m](mailto:a@b.org)", "[r](//host/x)",
         "![a](javascript:x.png)", "![a](https://e.org/i.png)",
         '![q "a" <b>](attachments/scan.png)',
         '[t](https://e.org/?a=1&b=2 "ti\\"tle")', "[t](<https://e.org/a b>)", "'", '"',
         "[[Other note|a & b]]", "![[scan.png|a <b> & \"c\"]]", "$$a_1 * b_2$$", "[ ]", "[x]",
         "^[inline *note*]", "^[", "[^1]", "[^2]", "<b>", "</b>", "<span class=x>",
         "<https://e.org/a>", "<a@b.org>", "<!-- c -->", '<img src="scan.png">',
         "^abc-1", "x ^blk", "(key:: value)", "(source:: [[Other note]])", "(k::", "::",
         "![[Other note]]", "![[Sibling#Summary]]", "![[Sibling#^item-two]]", "![[Nowhere]]",
         "![x](Other%20note.md)", "![[Topic/Note]]", "[[Other note|*a* `b`]]",
         "![[Other note|**T**]]", "<javascript:x>", '[t](vbscript:x "t")', "<https://bü.de/ä>",
         "![*a* `c` #b](attachments/scan.png)",
         "%%", "%%hid%%", "`%%c%%`", "$a %% b$", "{{c1::x}}", "{{c2::**b** c::hint}}",
         "{{c1::", "}}", "{{c3::a: b::h::i}}", "{{c1:: }}", "{{c600::x}}", "`{{c1::x}}`",
         "$a {{c1::b}}$", "{{c1::*a}}", "*b {{c2::c*}}"]
LINE_STARTS = ["", "", "", "- ", "* ", "1. ", "3) ", "    - ", "\t- ", "  ", "> ", "> - ",
               "> > ", "## ", "### ", "| ", "```", "```python", "$$", "$$\n", "---", "***", "    ",
               "- [ ] ", "1. [x] ", "[^1]: ", "[^2]: ", "<div>", "</div>", "^id ", "(f:: ", "%%"]


@st.composite
def sections(draw: st.DrawFn) -> str:
    lines = []
    for _ in range(draw(st.integers(1, 8))):
        start = draw(st.sampled_from(LINE_STARTS))
        words = draw(st.lists(st.sampled_from(WORDS), max_size=7))
        joiner = draw(st.sampled_from([" ", "", " | "]))
        lines.append(start + joiner.join(words))
        if draw(st.booleans()):
            lines.append("")
    if draw(st.booleans()):
        lines[1:1] = ["|---|---|"]
    return "\n".join(lines) + "\n"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sections(), st.sampled_from(MODES))
@example('plain~~< 10~~\n', OFF)
@example("$$\na\n\n  \n    b\n$$\n\n[[Missing]]\n", OFF)  # blank lines inside display math
@example("Text above:\n$$\nx^2\n\ny\n$$\n\nb\n$$x$$\nand on\n", OFF)  # $$ blocks in text
@example("text ^id\n$$a\n$$\n", OFF)
@example("    code\n^blk\n- item\n", OFF)
@example("A ==kappa== or ==lambda  Chain==, ==**not** plain==.\n", "highlights")
@example("$$[[Other note]]\n> > q\n1. \n\n$$`x`\n\n$$\n", OFF)  # blanks filled in no math
@example("Shown [[Other note]]\n%%\nnever shown\n", OFF)  # an unclosed comment hides the rest
@example("[x]: https://e.org\n    code\n", OFF)
@example("- [ ] #tag\n", OFF)
@example("- [ ] ^abc-1\n", OFF)
@example("> [!note] A {{c1::**b** c}}\n> {{c2::x::the hint}} #tag [{{c3::y}}](Other%20note.md)\n",
         OFF)
@example("b[^1] c[^2]\n\n[^1]: A.\n[^2]: B.\n\n[^1]: C.\n", OFF)  # the last definition counts
@example("{{c1::outer {{c2::inner}} ==text==}}\n", "highlights")
@example("a\x00b %%unclosed\n\n| a |\n|---|\n", OFF)
def test_generated_sections_render_well_formed_and_stable(markdown: str, highlights: str) -> None:
    rendered(markdown, highlights=highlights)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([w for w in WORDS if w.isprintable()]), min_size=1,
                max_size=6).map(" ".join))
def test_generated_headings_render_well_formed_and_stable(heading: str) -> None:
    """`render_inline` (questions, titles): a heading's text, without clozes."""
    targets = vault_targets(SITE_URL)
    result = render_inline(heading, RenderState(NOTE, 1, targets, clozes=None))
    assert_well_formed(result)
    assert result.clozes is None
    assert not result.html.startswith("<h1>")
    assert shown(render_inline(heading, RenderState(NOTE, 1, targets, clozes=None))) == \
        shown(result)


@pytest.mark.parametrize(("url", "href", "text"), [
    ("https://bü.de/ä b", "https://xn--b-eha.de/%C3%A4%20b", "https://bü.de/ä b"),
    ("https://e.org/a_b?x=1&y=[2]#f g", "https://e.org/a_b?x=1&y=%5B2%5D#f%20g",
     "https://e.org/a_b?x=1&y=[2]#f g"),
    ("mailto:a@b.org", "mailto:a@b.org", "mailto:a@b.org"),
    ("//host/%zz%41", "//host/%25zz%41", "//host/%zzA"),
    ("https://[::1]:8/x", "https://[::1]:8/x", "https://[::1]:8/x"),
])
def test_link_addresses_as_the_garden_writes_them(url: str, href: str, text: str) -> None:
    """Percent-encoded, the host in punycode (the garden's markdown-it writes them so)."""
    assert urls.link_url(url) == href
    assert urls.link_text(url) == text


def test_the_fixture_vault_renders_section_by_section() -> None:
    for note in sorted((FIXTURES / "vault").rglob("*.md")):
        for part in note.read_text(encoding="utf-8").split("\n## "):
            rendered(part.partition("\n")[2])
