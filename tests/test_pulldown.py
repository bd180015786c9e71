"""The fast path (`pulldown/`) writes the same card as the markdown-it path, or declines.

Every golden case and thousands of generated sections are rendered both ways; wherever the
fast path answers, its HTML, media and tags must equal markdown-it's to the byte. A failure here
names a construct the fast path must either learn exactly or leave to markdown-it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from anki_export import pulldown
from anki_export.cloze import HIGHLIGHTS, OFF, TOGETHER, ClozeScan
from anki_export.render import Rendered, RenderState, _markdown, render_markdown
from tests.test_build import SAMPLE_VAULT
from tests.test_render import FIXTURES, NOTE, SITE_URL, golden_cases, shown, vault_targets


def both_ways(markdown: str, site_url: str | None = SITE_URL,
              highlights: str = OFF) -> tuple[str | None, str]:
    """(fast path's golden text, or None where it declines; markdown-it's golden text). Where
    both answer, their clozes (numbers, identities, the text with placeholders) must agree."""
    targets = vault_targets(site_url)
    reference = RenderState(NOTE, 1, targets, clozes=ClozeScan(highlights))
    slow = reference.result(_markdown().render(markdown, {"render": reference}),
                            source=markdown)
    state = RenderState(NOTE, 1, targets, clozes=ClozeScan(highlights))
    try:
        html, clean = pulldown.render_events(markdown, state)
    except pulldown.Unsupported:
        assert not state.media and not state.tags, "a declined section left media or tags"
        assert state.clozes is not None and not state.clozes.found, "… or clozes"
        return None, shown(slow)
    fast = state.result(html, clean=clean, source=markdown)
    assert fast.clozes == slow.clozes
    return shown(fast), shown(slow)


@pytest.mark.parametrize(("path", "number", "markdown", "expected"), golden_cases())
def test_golden_case_same_on_both_paths(path: Path, number: int, markdown: str,
                                        expected: str) -> None:
    fast, slow = both_ways(markdown, None if path.stem == "no-site-url" else SITE_URL)
    assert slow == expected
    if fast is not None:
        assert fast == slow


def test_the_fast_path_answers_most_golden_cases() -> None:
    """Guards against a fast path that silently declines everything."""
    cases = [case.values[2] for case in golden_cases()]  # type: ignore[attr-defined]
    answered = sum(both_ways(markdown)[0] is not None for markdown in cases)
    print(f"fast path: {answered} of {len(cases)} golden cases")
    assert answered >= len(cases) // 3


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
@given(sections())
@example('plain~~< 10~~\n')  # found by CI: GFM opens `~~` after a letter, before punctuation
@example('a~~"x"~~\n')
@example("$$\na\n\n  \n    b\n$$\n\n[[Missing]]\n")  # blank lines inside display math
@example("Text above:\n$$\nx^2\n\ny\n$$\n\nb\n$$x$$\nand on\n")  # a $$ block ends a paragraph
@example("text ^id\n$$a\n$$\n")
@example("    code\n^blk\n- item\n")
@example("Shown [[Other note]]\n%%\nnever shown\n")  # an unclosed comment hides the rest
@example("[x]: https://e.org\n    code\n")
@example("- [ ] #tag\n")
@example("- [ ] ^abc-1\n")
@example("> [!note] A {{c1::**b** c}}\n> {{c2::x::the hint}} #tag [{{c3::y}}](Other%20note.md)\n")
@example("b[^1] c[^2]\n\n[^1]: A.\n[^2]: B.\n\n[^1]: C.\n")  # the last definition counts
@example("[^1]: #y\n\na[^1] #x ^[#z]\n\n[^2]: #v\n")  # tags in the source's order
def test_generated_sections_same_on_both_paths(markdown: str) -> None:
    fast, slow = both_ways(markdown)
    if fast is not None:
        assert fast == slow


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sections(), st.sampled_from([HIGHLIGHTS, TOGETHER]))
@example("A ==kappa== or ==lambda  Chain==, ==**not** plain==.\n", HIGHLIGHTS)
def test_highlight_clozes_same_on_both_paths(markdown: str, highlights: str) -> None:
    fast, slow = both_ways(markdown, highlights=highlights)
    if fast is not None:
        assert fast == slow


def test_the_fixture_vault_renders_through_both() -> None:
    """The fixture notes themselves, section by section."""
    for note in sorted((FIXTURES / "vault").rglob("*.md")):
        for part in note.read_text(encoding="utf-8").split("\n## "):
            fast, slow = both_ways(part.partition("\n")[2])
            if fast is not None:
                assert fast == slow, note


def test_a_declined_section_renders_with_markdown_it() -> None:
    result: Rendered = render_markdown("a %%hidden%% b\n", RenderState(NOTE, 1,
                                                                         vault_targets(None)))
    assert result.html == "<p>a  b</p>"


def test_the_sample_vault_builds_the_same_package_on_either_path(
        run_cli: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """End to end: the fast path changes no byte of the package the reference path makes."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")

    def package(out: Path) -> bytes:
        result = run_cli("build", SAMPLE_VAULT, "-o", out, "-q")
        assert result.exit_code == 0, result.output
        return next(out.glob("*.apkg")).read_bytes()

    fast = package(tmp_path / "fast")
    monkeypatch.setattr(pulldown, "supported", lambda markdown: False)
    assert package(tmp_path / "reference") == fast
