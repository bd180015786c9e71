"""Cards in the Spaced Repetition plugin's syntax: each rule of its parser (`src/parser.ts`,
as its `tests/unit/parser.test.ts` exercises them) with inputs of ours, then a vault built and
imported into real Anki, with and without learning progress."""

from __future__ import annotations

import datetime
from dataclasses import replace
from pathlib import Path

import pytest
from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest
from anki.import_export_pb2 import IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_IF_NEWER as IF_NEWER

from anki_export.srcards import BASIC, CLOZE, REVERSED, SrSettings, load_settings, parse_items

from .anki_helpers import AnkiCollection
from .conftest import write_vault

DEFAULT = SrSettings(cloze_patterns=("==[123;;]answer[;;hint]==", "**[123;;]answer[;;hint]**",
                                     "{{[123;;]answer[;;hint]}}"))
MARKED = replace(DEFAULT, end_marker="+++")
CUSTOM = replace(DEFAULT, single_line="=>", single_line_reversed="<=>", multiline="@@",
                 multiline_reversed="@@@", cloze_patterns=())

# (rule, settings, text, [(kind, text, first line, last line)]): the plugin's rule, our input.
RULES = [
    ("single line", DEFAULT, "Capital of Peru::Lima", [(BASIC, "Capital of Peru::Lima", 0, 0)]),
    ("single line takes its SR line", DEFAULT, "Peru::Lima\n<!--SR:!2026-01-02,3,250-->",
     [(BASIC, "Peru::Lima\n<!--SR:!2026-01-02,3,250-->", 0, 1)]),
    ("single line after text", DEFAULT, "Some prose\nPeru ::Lima", [(BASIC, "Peru ::Lima", 1, 1)]),
    ("longest separator first", DEFAULT, "Peru:::Lima", [(REVERSED, "Peru:::Lima", 0, 0)]),
    ("custom separators", CUSTOM, "A=>B\n\nC<=>D", [(BASIC, "A=>B", 0, 0),
                                                 (REVERSED, "C<=>D", 2, 2)]),
    ("empty separator is off", replace(DEFAULT, single_line=""), "a::b", []),
    ("separator in inline code", DEFAULT, "`a::b`", []),
    ("multi-line", DEFAULT, "Why?\n?\nBecause\nof this", [(BASIC, "Why?\n?\nBecause\nof this",
                                                         0, 3)]),
    ("multi-line separator with spaces", DEFAULT, "Q\n? \nA", [(BASIC, "Q\n?\nA", 0, 2)]),
    ("multi-line reversed", DEFAULT, "Q1\nQ2\n??\nA", [(REVERSED, "Q1\nQ2\n??\nA", 0, 3)]),
    ("blank line ends a card", DEFAULT, "# T\n\nL0\nQ\n?\nA\n\nQ2\n?\nA2",
     [(BASIC, "L0\nQ\n?\nA", 2, 5), (BASIC, "Q2\n?\nA2", 7, 9)]),
    ("end marker ends a card, blank lines kept", MARKED, "Q\n?\n\nA\n+++\nQ2\n??\nA2\n+++",
     [(BASIC, "Q\n?\n\nA", 0, 3), (REVERSED, "Q2\n??\nA2", 5, 7)]),
    ("no question above ?", DEFAULT, "?\nA", []),
    ("code fence holds no card", DEFAULT, "```\nx::y\n```", []),
    ("code fence inside an answer", DEFAULT, "Q\n?\n```py\n\nx = 1\n```",
     [(BASIC, "Q\n?\n```py\n\nx = 1\n```", 0, 5)]),
    ("HTML comment holds no card", DEFAULT, "<!--a::b-->\n\nc::d", [(BASIC, "c::d", 2, 2)]),
    ("multi-line HTML comment", DEFAULT, "<!--\nQ\n?\nA\n-->", []),
    ("highlight cloze", DEFAULT, "x ==y== z", [(CLOZE, "x ==y== z", 0, 0)]),
    ("bold and curly clozes", DEFAULT, "**a** and {{b}}", [(CLOZE, "**a** and {{b}}", 0, 0)]),
    ("cloze paragraph", DEFAULT, "intro\n\nline one\nsuch ==x==\nafter\n\nend",
     [(CLOZE, "line one\nsuch ==x==\nafter", 2, 4)]),
    ("cloze pattern off", replace(DEFAULT, cloze_patterns=()), "x ==y== z", []),
    ("cloze across lines is none", DEFAULT, "a ==b\nc== d", []),
    ("cloze in a code fence", DEFAULT, "```\nx ==y==\n```", []),
    ("an opening with no closing is no cloze, however long the line", DEFAULT,
     "x ==" + ";;" * 100_000, []),
    ("a closed cloze after an unclosed opening's text", DEFAULT, "a == b ==c== d",
     [(CLOZE, "a == b ==c== d", 0, 0)]),
]


@pytest.mark.parametrize(("settings", "text", "want"),
                         [r[1:] for r in RULES], ids=[r[0] for r in RULES])
def test_each_parser_rule_gives_the_plugins_cards(settings: SrSettings, text: str,
                                                  want: list[tuple[str, str, int, int]]) -> None:
    items, _ = parse_items(text, settings)
    assert [(i.kind, i.text, i.first, i.last) for i in items] == want


def test_settings_come_from_the_plugin_file_and_a_bad_one_is_a_warning(tmp_path: Path) -> None:
    settings, problems = load_settings(
        '{"settings": {"singleLineCardSeparator": ";;", "convertBoldTextToClozes": true}}')
    assert settings.single_line == ";;" and not problems
    assert settings.cloze_patterns == ("==[123;;]answer[;;hint]==", "**[123;;]answer[;;hint]**")
    settings, problems = load_settings("{not json")
    assert settings == SrSettings()
    assert [p.code for p in problems] == ["sr-settings"]
    assert "data.json" in str(problems[0].path)


NOTE = """\
---
permalink: /stroke/
---
#flashcards/rad/neuro

## Overview
Some prose that stays a heading card.

Hyperdense MCA sign::Thrombus, bright on CT
<!--SR:!{due},12,250-->

Insular ribbon:::Loss of grey-white differentiation
<!--SR:!{due},4,230!{due},20,270-->

Earliest sign is ==loss of differentiation==, within ==three hours==.
<!--SR:!{due},6,250-->
"""


def _vault(tmp_path: Path, due: datetime.date) -> Path:
    return write_vault(tmp_path / "vault", {
        "Stroke.md": NOTE.replace("{due}", due.isoformat()),
        "Chest.md": "---\npermalink: /chest/\n---\nCategory:: emergency\n\n"
                    "## Sign\nThe ==deep sulcus== sign.\n"})


def _import(package: Path, folder: Path, *, with_scheduling: bool) -> Collection:
    folder.mkdir(parents=True, exist_ok=True)
    col = Collection(str(folder / "c.anki2"))
    col.import_anki_package(ImportAnkiPackageRequest(package_path=str(package), options=(
        ImportAnkiPackageOptions(with_scheduling=with_scheduling, with_deck_configs=False,
                                 merge_notetypes=False, update_notes=IF_NEWER,
                                 update_notetypes=IF_NEWER))))
    return col


def test_a_vault_of_plugin_cards_imports_with_its_review_state(tmp_path: Path,
                                                               run_cli: object) -> None:
    due = datetime.date.today() + datetime.timedelta(days=9)
    vault = _vault(tmp_path, due)
    result = run_cli("build", vault, "--all", "-o", tmp_path / "out", "--deck", "Med")  # type: ignore[operator]
    assert result.exit_code == 0, result.output
    package = tmp_path / "out" / "Med.apkg"
    anki = AnkiCollection(tmp_path / "plain")
    anki.import_package(package)
    notes = {n.notetype: n for n in anki.notes() if "Stroke" in n.fields.get("Source", "")
             or "Stroke" in n.fields.get("Breadcrumb", "")}
    decks = {n.deck for n in anki.notes() if n.guid and "sr" not in n.deck}
    assert "Med::rad::neuro" in decks
    texts = [n.text for n in anki.notes()]
    assert not any("<!--SR" in t or "#flashcards" in t for t in texts)
    assert sum("Some prose" in t for t in texts) == 1  # the heading card, once
    assert any("<mark>deep sulcus</mark>" in t and "Category:: emergency" not in t
               for t in texts)  # untagged: highlight stays text, no plugin card
    assert "anki-export basic and reversed" in notes and "anki-export cloze" in notes
    states = [anki.col.get_card(c) for c in anki.col.find_cards("")]
    assert all(c.type == 0 for c in states)  # without learning progress: all new
    anki.close()

    col = _import(package, (tmp_path / "sched").resolve(), with_scheduling=True)
    reviewed = {}
    for cid in col.find_cards(""):
        card = col.get_card(cid)
        if card.type == 2:
            reviewed[(card.note().fields[0][:20], card.ord)] = (card.ivl, card.factor,
                                                                 card.due - col.sched.today)
    col.close()
    days = 9  # due in 9 days, as Anki's browser counts them from today's date
    assert sorted(reviewed.values()) == sorted([(12, 2500, days), (4, 2300, days),
                                                (20, 2700, days), (6, 2500, days)])


def test_an_answer_edit_keeps_every_guid(tmp_path: Path, run_cli: object) -> None:
    vault = _vault(tmp_path, datetime.date(2027, 1, 1))
    out = tmp_path / "out"

    def guids() -> set[str]:
        result = run_cli("build", vault, "--all", "-o", out)  # type: ignore[operator]
        assert result.exit_code == 0, result.output
        anki = AnkiCollection(tmp_path / f"a{len(list(tmp_path.iterdir()))}")
        anki.import_package(next(out.glob("*.apkg")))
        found = {n.guid for n in anki.notes()}
        anki.close()
        return found

    before = guids()
    note = vault / "Stroke.md"
    note.write_text(note.read_text().replace("bright on CT", "dense on CT")
                    .replace("three hours", "four hours"))
    assert guids() == before


def test_check_flags_plugin_cards_that_cannot_work(tmp_path: Path, run_cli: object) -> None:
    vault = write_vault(tmp_path / "v", {"N.md": "#flashcards\n\nQuestion::\n\n?\nAnswer\n"})
    result = run_cli("check", vault, "--all")  # type: ignore[operator]
    assert "N.md:3" in result.output and "sr-card-empty" in result.output
    assert "N.md:5" in result.output and "sr-no-question" in result.output
    off = run_cli("check", vault, "--all", "--no-sr-cards")  # type: ignore[operator]
    assert "sr-card-empty" not in off.output
