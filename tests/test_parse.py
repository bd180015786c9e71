"""Heading rules on note text: pure functions, no disk."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anki_export.config import AUTO
from anki_export.errors import Level, NoteError
from anki_export.parse import (
    INTRO_KEY,
    HeadingRules,
    _headings,
    _parsed_headings,
    parse_note,
)
from anki_export.vault import SourceFile

RULES = HeadingRules(2, ("Related", "References", "See also", "Sources", "Links"))


def parse(text: str, rules: HeadingRules = RULES, name: str = "Topic/Note.md"):  # type: ignore[no-untyped-def]
    return parse_note(SourceFile(PurePosixPath(name), text), rules)


def test_each_h2_is_a_section_and_text_before_the_first_is_the_intro() -> None:
    note, _ = parse("Intro text.\n## One\nfirst\n### Sub\nsub text\n## Two\nsecond\n")
    assert [s.heading for s in note.sections] == ["Note", "One", "Two"]
    assert [s.path for s in note.sections] == [(), ("One",), ("Two",)]
    assert (note.sections[0].body, note.sections[0].key) == ("Intro text.", INTRO_KEY)
    assert note.sections[1].body == "first\n### Sub\nsub text"
    skipped = HeadingRules(2, intro=False)
    assert [s.heading for s in parse("Intro text.\n## One\nx\n", skipped)[0].sections] == ["One"]


def test_heading_after_blockquote_without_blank_line_is_a_heading() -> None:
    note, _ = parse("## A\n> quoted note\n## B\n- item\n")
    assert [s.heading for s in note.sections] == ["A", "B"]
    assert note.sections[0].body == "> quoted note"


def test_heading_inside_code_fence_does_not_split() -> None:
    note, _ = parse("## A\n```md\n## not a heading\n```\n## B\nx\n")
    assert [s.heading for s in note.sections] == ["A", "B"]
    assert "## not a heading" in note.sections[0].body


def test_a_note_names_the_languages_of_its_code_fences() -> None:
    """A hint for loading highlighters before the render workers fork: any fence will do."""
    note, _ = parse("## A\n```Python\nx = 1\n```\n- ~~~ sql\n  select 1\n  ~~~\n"
                    "> ```c++\n> int x;\n> ```\n## B\n```\nplain\n```\n")
    assert note.code_languages == ("c++", "python", "sql")
    assert parse("## A\nno code\n")[0].code_languages == ()


def test_trailing_colon_dropped_and_question_kept() -> None:
    note, _ = parse("## Hallmark:\nx\n## Why does it hurt?\ny\n")
    assert [s.heading for s in note.sections] == ["Hallmark", "Why does it hurt?"]


def test_skipped_and_empty_sections() -> None:
    note, diagnostics = parse("## Empty\n\n## related\n- x\n## See Also:\n- y\n## Real\nz\n")
    assert [s.heading for s in note.sections] == ["Real"]
    assert len(note.skipped) == 3
    assert not diagnostics


def test_note_without_h2_says_why_and_what_to_do() -> None:
    note, diagnostics = parse("# Title\n### Deep\ntext\n", HeadingRules(2, intro=False))
    assert note.sections == ()
    (d,) = diagnostics
    assert d.code == "no-cards" and "--heading-level 3" in d.message


def test_heading_level_per_note_in_frontmatter() -> None:
    note, _ = parse("---\nanki-heading-level: 3\n---\n# T\n## Group\n### A\nx\n### B\ny\n")
    assert [s.path for s in note.sections] == [("Group", "A"), ("Group", "B")]
    assert note.title == "T"


def test_line_numbers_count_the_frontmatter() -> None:
    note, _ = parse('---\n{"dg-publish":true}\n---\n\n## A\nx\n## B\n\ny\n')
    assert [(s.line, s.body_line) for s in note.sections] == [(5, 6), (7, 9)]


def test_json_and_yaml_frontmatter_and_the_escaped_pipe() -> None:
    json_note, _ = parse('---\n{"dg-publish":true,"dg-path":"[[a\\|b]].md","permalink":"/x/"}'
                         '\n---\n')
    yaml_note, _ = parse("---\ndg-publish: true\npermalink: /y/\ntags: [a/b, c]\n---\n## A\nx\n")
    assert json_note.published and json_note.permalink == "/x/"
    assert json_note.dg_path == "[[a|b]].md"
    assert yaml_note.published and yaml_note.tags == ("a::b", "c")


@pytest.mark.parametrize(("value", "published"), [
    ("true", True), ('"false"', False), ("false", False), ("1", True), ("null", False)])
def test_publish_filter_matches_the_plugin(value: str, published: bool) -> None:
    note, _ = parse(f"---\ndg-publish: {value}\n---\n## A\nx\n")
    assert note.published is published


def test_title_order() -> None:
    assert parse("---\ntitle: Given\n---\n# H1\n## A\nx\n")[0].title == "Given"
    assert parse("# From H1\n## A\nx\n")[0].title == "From H1"
    assert parse('---\n{"dg-path":"X/From dg-path.md"}\n---\n## A\nx\n')[0].title == "From dg-path"
    assert parse("## A\nx\n", name="Dir/From file.md")[0].title == "From file"


def test_permalink_order_and_deck_folders() -> None:
    note, _ = parse('---\n{"dg-path":"Rad/Bone/My Note.md","dg-permalink":"Custom Link"}\n---\n')
    assert (note.permalink, note.permalink_from) == ("/Custom Link/", "dg-permalink")
    assert note.folders == ("Rad", "Bone")
    note, _ = parse('---\n{"dg-path":"Rad/Bone/My Note.md"}\n---\n', name="Other/x.md")
    assert (note.permalink, note.folders) == ("/rad/bone/my-note/", ("Rad", "Bone"))
    note, _ = parse("## A\nx\n", name="Vault Dir/Some Note.md")
    assert (note.permalink, note.permalink_from) == ("/vault-dir/some-note/", "path")
    assert note.folders == ("Vault Dir",)


def test_pinned_id_keys_the_section_and_leaves_the_heading() -> None:
    note, _ = parse("## Hallmark ^core\nx\n## Other\ny\n")
    assert note.sections[0].heading == "Hallmark"
    assert (note.sections[0].key, note.sections[0].pin) == ("hallmark", "core")
    assert (note.sections[1].key, note.sections[1].pin) == ("other", None)


def test_section_key_ignores_case_spacing_and_colon() -> None:
    a, _ = parse("## Diagnostic  Workup:\nx\n")
    b, _ = parse("## diagnostic workup\ny\n")
    assert a.sections[0].key == b.sections[0].key


def test_duplicate_headings_get_distinct_keys_and_a_warning() -> None:
    note, diagnostics = parse("## Imaging\nx\n## Imaging\ny\n")
    assert [s.key for s in note.sections] == ["imaging", "imaging~2"]
    assert [d.code for d in diagnostics] == ["duplicate-heading"]


@pytest.mark.parametrize(("text", "line"), [
    ("---\ndg-publish: true\npermalink: [unclosed\n---\n## Q\nA\n", 4),
    ('---\n{"dg-publish":true,"permalink":"/b/"\n---\n## Q\nA\n', 2),
])
def test_malformed_frontmatter_names_the_line(text: str, line: int) -> None:
    with pytest.raises(NoteError) as raised:
        parse(text)
    assert raised.value.line == line
    assert "frontmatter" in raised.value.message


def test_setext_headings_and_headings_in_lists_or_quotes() -> None:
    note, _ = parse("Setext one\n----------\nbody 1\n- item\n  ## in a list\n> ## in a quote\n"
                    "## ATX closed ##\nbody 2\n")
    assert [(s.heading, s.body) for s in note.sections] == [
        ("Setext one", "body 1\n- item\n  ## in a list\n> ## in a quote"),
        ("ATX closed", "body 2")]


def test_heading_inside_a_comment_splits_nothing() -> None:
    note, _ = parse("## A\nvisible\n%%\n## hidden draft\nmore\n%%\n## B\n`%%` in code\n")
    assert [s.heading for s in note.sections] == ["A", "B"]
    assert note.sections[1].line == 7


def test_odd_frontmatter_tags_and_anki_flags() -> None:
    note, _ = parse("---\ntags: [[a, b], c, true, null, 3]\n---\n## A\nx\n")
    assert note.tags == ("3", "a", "b", "c")
    for value, excluded in (("false", True), ('"false"', True), ("0", True), ("no", True),
                            ("true", False), ("1", False)):
        assert parse(f"---\nanki: {value}\n---\n## A\nx\n")[0].excluded is excluded, value


_LINES = ["## Hallmark", "# Title", "### Deeper ###", "#tag", "####### seven", "##", "text",
          "", "- item", "  ## in item", "    ## indented", "> quote", ">## quoted", "| a | b |",
          "|---|---|", "[^1]: note", "    more", "```", "~~~", "<div>", "<!--", "-->", "---",
          "===", "\t## tab", " ## one space", "1. first", "* * *", "$$", "%%"]


@given(st.lists(st.sampled_from(_LINES), max_size=12))
def test_headings_read_off_the_lines_are_the_parsers(lines: list[str]) -> None:
    """The split reads headings off the lines where no construct can hide one; wherever it
    does, it must find exactly the parser's."""
    body = "\n".join(lines)
    assert _headings(body) == _parsed_headings(body)


def test_spilled_sections_read_back_and_pickle_with_their_data() -> None:
    """A build with many notes to render moves their sections into a temporary file while
    workers render them (`LazySections.spill`): read back, and pickled, they are the same."""
    import pickle

    from anki_export.pickling import SectionSpill, register_picklers

    register_picklers()
    notes = [parse_note(SourceFile(PurePosixPath(f"n{i}.md"),
                                   f"## Q{i}\nA{i}\n\n## R{i}\nB{i}\n"), HeadingRules())[0]
             for i in range(3)]
    kept = [pickle.loads(pickle.dumps(note)) for note in notes]  # as from a worker or cache
    spill = SectionSpill()
    for note in kept:
        note.sections.spill(spill)
    del spill  # the notes keep their file open
    assert kept == notes
    assert [s.heading for s in kept[1].sections] == ["Q1", "R1"]
    assert pickle.loads(pickle.dumps(kept[2])) == notes[2]


def test_unpickled_notes_name_their_file_with_the_shared_path_object() -> None:
    """A build unpickles every note and card its workers send or its cache holds: their paths
    come back as the vault index's own objects (`share_paths`), or as equal new ones."""
    import pickle

    from anki_export.pickling import register_picklers
    from anki_export.vault import share_paths

    register_picklers()
    rel = PurePosixPath("Rad/Myeloma.md")
    note = parse_note(SourceFile(rel, "## Hallmark\nM-spike\n"), HeadingRules())[0]
    data = pickle.dumps(note)
    share_paths([PurePosixPath("Rad/Other.md"), rel])
    assert pickle.loads(data).rel is rel
    share_paths([])
    unshared = pickle.loads(data)
    assert unshared == note and unshared.rel is not rel


# Published form: the Digital Garden plugin writes each ` ^id` as a `{ #id}` line.

def published_body(body: str) -> str:
    return '---\n{"dg-publish":true,"dg-path":"Rad/X.md","permalink":"/rad/x/"}\n---\n' + body


def test_a_published_pin_is_the_headings_pin_with_the_same_key_and_lines() -> None:
    vault, _ = parse("---\ndg-publish: true\n---\n## Hallmark ^core\n\nM-spike ^fact\n## B\ny\n")
    note, _ = parse(published_body("## Hallmark\n{ #core}\n\nM-spike\n{ #fact}\n\n## B\ny\n"))
    (hallmark, b) = note.sections
    assert (hallmark.heading, hallmark.key, hallmark.pin) == ("Hallmark", "hallmark", "core")
    assert [(s.key, s.pin) for s in note.sections] == [(s.key, s.pin) for s in vault.sections]
    assert "{ #" not in hallmark.body and hallmark.body.startswith("M-spike ^fact")
    assert (hallmark.line, b.line) == (4, 10)  # the published file's own lines


def test_published_block_ids_inside_math_are_put_back() -> None:
    note, _ = parse(published_body(
        "## Energy\nSo $E = mc\n{ #2}\n + p\n{ #2}\n$ holds.\n\n$$\nx\n{ #2}\n\n$$\n\n## B\ny\n"))
    (energy, b) = note.sections
    assert energy.body.startswith("So $E = mc ^2 + p ^2$ holds.\n")
    assert "$$\nx ^2\n" in energy.body and "{ #" not in energy.body
    assert b.line == 17  # lines after the math are where the file has them


def test_a_published_own_line_id_and_code_are_left_as_written() -> None:
    note, _ = parse(published_body(
        "## A\n| a |\n|---|\n| 1 |{ #table}\n\n```\n{ #kept}\n```\n"))
    assert note.sections[0].body == "| a |\n|---|\n| 1 |\n^table\n```\n{ #kept}\n```"


# Heading levels: `auto` splits each note where its sections are.

AUTO_RULES = HeadingRules(skipped=("Related",))


def cards(text: str, rules: HeadingRules = AUTO_RULES, name: str = "Topic/Note.md"
          ) -> list[tuple[str, ...]]:
    return [s.path for s in parse(text, rules, name)[0].sections]


@pytest.mark.parametrize(("text", "paths"), [
    ("# Title\n## A\nx\n## B\ny\n", [("A",), ("B",)]),  # `##` keeps `##`
    ("## A\nx\n### A1\ny\n### A2\nz\n", [("A",)]),  # one `##` with subsections: as before
    ("# CT\n### Hounsfield\nx\n### Window\ny\n", [("Hounsfield",), ("Window",)]),
    ("## Group\n#### A\nx\n#### B\ny\n## Related\n- z\n", [("Group",)]),
    ("### Only\nx\n## Related\n- z\n", [("Only",)]),  # one card, at the level that gives it
    ("# Definition\nx\n# T1 recovery\ny\n# T2 decay\nz\n",
     [("Definition",), ("T1 recovery",), ("T2 decay",)]),
    ("# Part 1\n## A\nx\n# Part 2\n## B\ny\n", [("Part 1",), ("Part 2",)]),  # several `#`
])
def test_auto_splits_each_note_at_the_level_of_its_sections(
        text: str, paths: list[tuple[str, ...]]) -> None:
    assert cards(text) == paths


def test_a_level_by_folder_the_frontmatter_and_a_forced_level() -> None:
    by_folder = HeadingRules(skipped=(), by_folder=(("Physics", 3), ("Physics/Deep", AUTO)))
    text = "# T\n## A\nx\n### A1\ny\n### A2\nz\n"
    assert cards(text, by_folder, "Physics/N.md") == [("A", "A1"), ("A", "A2")]
    assert cards(text, by_folder, "Physics/Deep/N.md") == [("A",)]  # the longest folder wins
    assert cards(text, by_folder, "Physicsx/N.md") == [("A",)]  # whole folder names only
    assert cards("---\nanki-heading-level: auto\n---\n" + text, by_folder, "Physics/N.md") == [
        ("A",)]
    assert cards("# T\n### A\nx\n### B\ny\n", HeadingRules(2)) == []
    with pytest.raises(NoteError, match='1 to 6 or "auto"'):
        parse("---\nanki-heading-level: deep\n---\n## A\nx\n")


def test_titles_from_frontmatter_an_opening_heading_or_the_file_name() -> None:
    def title(text: str, name: str = "Dir/File name.md") -> str:
        return str(parse(text, AUTO_RULES, name)[0].title)

    assert title("---\ntitle: Given\n---\n# Heading\n## A\nx\n") == "Given"
    assert title("\n# The $T_1$ note\n## A\nx\n") == "The $T_1$ note"
    assert title("Text first.\n# Heading\n## A\nx\n") == "File name"  # does not open the note
    assert title("# Definition\nx\n# Use\ny\n") == "File name"  # not the only `#`
    assert title('---\n{"dg-path":"Rad/From dg-path.md"}\n---\n# A\nx\n# B\ny\n') == "From dg-path"
    assert parse("# T\n## A\nx\n")[0].title_line == 1
    assert parse("---\ntitle: Given\n---\n# T\n## A\nx\n")[0].title_line == 0  # plain text
    forced = parse("# Only\nx\n", HeadingRules(1))[0]  # at `#`, every `#` is a section
    assert (forced.title, [s.heading for s in forced.sections]) == ("Note", ["Only"])


# The intro: the text before the first heading, a card titled by the note.

def intro(text: str, rules: HeadingRules = AUTO_RULES) -> tuple[str, str] | None:
    note, _ = parse(text, rules)
    first = note.sections[0] if note.sections else None
    return (first.heading, first.body) if first is not None and first.is_intro else None


def test_the_intro_is_a_card_with_a_key_no_heading_has() -> None:
    note, _ = parse("# Myeloma\n\nA plasma cell malignancy.\n\n## Intro\nx\n", AUTO_RULES)
    first, second = note.sections
    assert (first.heading, first.body, first.path, first.line) == (
        "Myeloma", "A plasma cell malignancy.", (), 3)
    assert (first.key, second.key) == (INTRO_KEY, "intro")
    assert intro("Defined here.\n\n### Detail\nx\n") == ("Note", "Defined here.")
    assert intro("Capital of Peru::Lima\n## A\nx\n") == ("Note", "Capital of Peru::Lima")
    assert intro("Defined here.\n## A\nx\n", HeadingRules(intro=False)) is None


@pytest.mark.parametrize("text", [
    "\n\n## A\nx\n", "# Title\n\n## A\nx\n", "%% a draft %%\n^block-id\n<!-- c -->\n## A\nx\n",
    "#radiology #oncology\n---\n## A\nx\n",  # tags and a rule: nothing to learn
    "Category:: emergency\nsource-type:: textbook\n## A\nx\n",  # Dataview fields: metadata
    "- [[One]]\n- [[Two|2]]\n\n## A\nx\n", "Start here:\n1. [[One]]\n2. [x](y.md)\n## A\nx\n",
    '---\n{"dg-home":true,"tags":["gardenEntry"]}\n---\nWelcome, read this.\n## A\nx\n',
])
def test_an_empty_intro_or_one_of_only_links_is_no_card(text: str) -> None:
    assert intro(text) is None


def test_a_note_of_only_links_gives_no_card_and_says_so_quietly() -> None:
    note, diagnostics = parse("---\ndg-home: true\n---\nWelcome. Start with one of these:\n"
                              "- [[A]]\n", AUTO_RULES)
    assert note.sections == () and note.skipped == ("the intro (home page)",)
    assert [(d.code, d.level) for d in diagnostics] == [("no-cards", Level.INFO)]
    assert intro("An image:\n![[scan.png]]\n## A\nx\n") == ("Note", "An image:\n![[scan.png]]")
