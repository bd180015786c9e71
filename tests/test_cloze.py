"""Cloze cards: Anki's `{{c1::…}}` in a note, and `==highlights==` on request, imported into
real Anki; their numbers stay on their cards while the notes are edited.

Rendering details are golden cases in `tests/fixtures/render/cloze.md`; here the cards are
built with the CLI, imported with Anki's default options and read back as a user sees them.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from click.testing import CliRunner, Result

from anki_export.cli import cli
from anki_export.cloze import HIGHLIGHTS, TOGETHER, Cloze, ClozeScan, ClozeText
from anki_export.cloze_numbers import ClozeMemory, number_clozes
from anki_export.manifest import read_manifest, write_manifest
from anki_export.notetypes import CLOZE_FIELDS, REVISION, cloze_notetype
from anki_export.render import RenderState, render_markdown

from .anki_helpers import AnkiCollection
from .conftest import published, write_vault

NewAnki = Callable[[], AnkiCollection]

MIXED = published("/rad/myeloma/", """
    # Myeloma
    ## Hallmark
    Clonal plasma cells make a monoclonal protein.
    ## Light chains
    Free light chains are {{c1::kappa}} or {{c2::lambda::second type}}; type `{{c3::x}}` for a
    cloze, and the energy is $E = {{c3::mc^2}}$.
    ## Imaging
    - {{c1::Punched-out}} lytic lesions
    - a ==raindrop== skull
    """)
HIGHLIGHTED = published("/rad/facts/", """
    # Facts
    ## Key facts
    Marrow cells secrete ==IL-6==, which drives ==osteolysis==; the serum shows an ==M-spike==.
    ## Plain
    No clozes here.
    """, anki_cloze="highlights")
PLAIN = published("/rad/plain/", """
    # Plain
    ## Marked
    This ==stays a highlight== without the opt-in.
    """)


def build(vault: Path, out: Path, at: int, *extra: str) -> Result:
    return CliRunner().invoke(cli, ["build", str(vault), "-o", str(out), *extra],
                              env={"SOURCE_DATE_EPOCH": str(at)}, catch_exceptions=False)


def package(out: Path) -> Path:
    (found,) = out.glob("*.apkg")
    return found


def studied(vault: Path, out: Path, anki: AnkiCollection) -> dict[int, tuple[int, int, int, int]]:
    """Build, import and answer every card once: the review state the next build must keep."""
    build(vault, out, 1_700_000_000)
    anki.import_package(package(out))
    anki.answer_every_card()
    return anki.review_state()


def visible(card_html: str) -> str:
    """The text a user reads: no style, no tags, entities decoded."""
    text = re.sub(r"<style>.*?</style>", "", card_html, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", text))


def active(answer: str) -> str:
    """What the card asks for: the text of its active cloze on the back."""
    match = re.search(r'<span class="cloze"[^>]*>(.*?)</span>', answer)
    return match.group(1) if match else ""


def cloze_cards(anki: AnkiCollection, guid: str) -> dict[str, tuple[int, int]]:
    """Active cloze text → (card id, ord) for one note."""
    note = anki.col.get_note(anki.by_guid()[guid].id)
    return {active(card.answer()): (card.id, card.ord) for card in note.cards()}


def ords(cards: dict[str, tuple[int, int]]) -> dict[str, int]:
    """Active cloze text → the card's ord (its cloze number less one)."""
    return {text: ord_ for text, (_, ord_) in cards.items()}


def test_a_mixed_vault_imports_as_basic_and_cloze_cards(tmp_path: Path,
                                                        anki: AnkiCollection) -> None:
    vault = write_vault(tmp_path / "vault", {"Rad/Myeloma.md": MIXED, "Rad/Facts.md": HIGHLIGHTED,
                                             "Rad/Plain.md": PLAIN})
    assert build(vault, tmp_path / "dist", 1_700_000_000).exit_code == 0
    log = anki.import_package(package(tmp_path / "dist"))
    notes = anki.notes()
    kinds = sorted(n.notetype for n in notes)
    assert kinds == ["anki-export basic"] * 3 + ["anki-export cloze"] * 3
    assert len(log.new) == 6 and len(anki.col.find_cards("")) == 3 + 3 + 1 + 3
    assert not log.conflicting and not log.duplicate

    cloze_notes = [n for n in notes if n.notetype == "anki-export cloze"]
    for note in cloze_notes:
        assert set(note.fields) == set(CLOZE_FIELDS) and note.fields["Extra"] == ""
        assert note.fields["Text"].startswith('<div class="ae-question">')
        for card in anki.col.get_note(note.id).cards():
            hidden = visible(active(card.answer()))  # "" in math: Anki adds no <span> there
            front = visible(card.question())
            assert "[...]" in front or "[second type]" in front, front
            if hidden:
                assert hidden not in front  # the front hides exactly the cloze …
                assert hidden in visible(card.answer())  # … and the back shows it
            assert "Myeloma —" in front or "Facts —" in front  # title and heading as context
    chains = next(n for n in cloze_notes if "kappa" in n.text)
    sides = {card.ord: visible(card.question())
             for card in anki.col.get_note(chains.id).cards()}
    assert sorted(sides) == [0, 1, 2]
    assert "[second type]" in sides[1] and "lambda" not in sides[1]
    assert "E = [...]" in sides[2]  # a cloze inside MathJax …
    math_back = visible(next(c.answer() for c in anki.col.get_note(chains.id).cards()
                             if c.ord == 2))
    assert "E = mc^2" in math_back and "[...]" not in math_back  # … shown on the back
    assert "{{c3::x}}" in sides[0]  # in code: shown as typed, not a cloze
    facts = next(n for n in cloze_notes if "IL-6" in n.text)
    assert {active(c.answer()) for c in anki.col.get_note(facts.id).cards()} == {
        "IL-6", "osteolysis", "M-spike"}

    marked = next(n for n in notes if "stays a highlight" in n.text)
    assert marked.notetype == "anki-export basic"
    assert "<mark>stays a highlight</mark>" in marked.fields["Answer"]
    imaging = next(n for n in notes if "Punched-out" in n.text)
    assert "<mark>raindrop</mark>" in imaging.fields["Text"]  # no opt-in in that note


def test_the_summary_counts_what_anki_imports_and_says_so(tmp_path: Path,
                                                          anki: AnkiCollection) -> None:
    vault = write_vault(tmp_path / "vault", {"Rad/Myeloma.md": MIXED})
    result = build(vault, tmp_path / "dist", 1_700_000_000)
    log = anki.import_package(package(tmp_path / "dist"))
    cards = len(anki.col.find_cards(""))
    assert f"wrote {cards} cards" in result.output
    assert (f"Since the last build: {len(log.new)} added, 0 changed, 0 removed, 0 unchanged "
            f"(Anki notes, {len(log.new)} in all: a cloze or reversed note holds several cards)"
            ) in result.output
    plain = build(write_vault(tmp_path / "plain", {"A.md": PLAIN}), tmp_path / "out", 1)
    assert "unchanged\n" in plain.output  # a card per note: nothing to explain


def test_insert_edit_and_remove_keep_every_cloze_on_its_card(tmp_path: Path,
                                                             anki: AnkiCollection) -> None:
    vault = write_vault(tmp_path / "vault", {"Rad/Facts.md": HIGHLIGHTED})
    out = tmp_path / "dist"
    reviews = studied(vault, out, anki)
    assert all(state[0] == 1 for state in reviews.values())
    (guid,) = [n.guid for n in anki.notes() if n.notetype == "anki-export cloze"]
    before = cloze_cards(anki, guid)
    assert ords(before) == {"IL-6": 0, "osteolysis": 1, "M-spike": 2}

    note = vault / "Rad/Facts.md"
    note.write_text(note.read_text()
                    .replace("Marrow cells secrete", "==Monoclonal plasma cells== secrete")
                    .replace("==osteolysis==", "==osteolytic lesions==")
                    .replace("==M-spike==", "M-spike"))
    report = tmp_path / "report.json"
    result = build(vault, out, 1_700_000_100, "--report", str(report))
    assert "0 added, 1 changed, 0 removed, 1 unchanged" in result.output
    assert "1 cloze card is empty now" in result.output and "Tools → Empty Cards" in result.output
    log = anki.import_package(package(out))

    after = cloze_cards(anki, guid)
    assert len(log.updated) == 1 and not log.new and not log.conflicting
    assert after["IL-6"] == before["IL-6"]  # untouched: the same card
    assert after["osteolytic lesions"] == before["osteolysis"]  # edited: the same card
    new_id, new_ord = after["Monoclonal plasma cells"]
    assert new_id not in reviews and new_ord not in {o for _, o in before.values()}
    assert after[""] == before["M-spike"]  # removed: its card is left, empty
    assert {cid: anki.review_state()[cid] for cid in reviews} == reviews  # every review kept
    assert len(anki.notes()) == 2

    removed_card = before["M-spike"][0]
    (empty,) = anki.col.get_empty_cards().notes
    assert list(empty.card_ids) == [removed_card] and not empty.will_delete_note
    changes = json.loads(report.read_text())["changes"]
    key = "/rad/facts/#key facts~cloze"
    assert changes["emptied_clozes"] == [{"card": key, "clozes": [before["M-spike"][1] + 1]}]
    assert changes["changed"] == [key]
    assert ords(after) == {"Monoclonal plasma cells": 3, "IL-6": 0, "osteolytic lesions": 1,
                           "": 2}
    assert ("{{c4::Monoclonal plasma cells}} secrete {{c1::IL-6}}, which drives "
            "{{c2::osteolytic lesions}}; the serum shows an M-spike.") in anki.by_guid()[
        guid].fields["Text"]

    # Another removed, and the first one written again: it gets its own card back.
    note.write_text(note.read_text().replace("==IL-6==", "IL-6")
                    .replace("shows an M-spike", "shows an ==M-spike=="))
    build(vault, out, 1_700_000_200)
    anki.import_package(package(out))
    again = cloze_cards(anki, guid)
    assert again["M-spike"] == before["M-spike"] and again[""] == before["IL-6"]
    assert ords(again) == {"Monoclonal plasma cells": 3, "": 0, "osteolytic lesions": 1,
                           "M-spike": 2}
    assert {cid: anki.review_state()[cid] for cid in reviews} == reviews


def test_a_section_that_gains_a_cloze_becomes_a_new_cloze_note(tmp_path: Path,
                                                               anki: AnkiCollection) -> None:
    """Anki never changes the notetype of a note it has (the import is "conflicting"), so the
    cloze form of a section is a new note and its basic card is retired like a removed one."""
    vault = write_vault(tmp_path / "vault", {"Rad/Plain.md": PLAIN})
    out = tmp_path / "dist"
    build(vault, out, 1_700_000_000)
    anki.import_package(package(out))
    note = vault / "Rad/Plain.md"
    note.write_text(note.read_text().replace("==stays a highlight==", "{{c1::is a cloze}}"))
    result = build(vault, out, 1_700_000_100)
    assert "1 added, 0 changed, 1 removed" in result.output
    log = anki.import_package(package(out))
    assert len(log.new) == 1 and len(log.updated) == 1 and not log.conflicting
    kinds = {n.notetype: n.tags for n in anki.notes()}
    assert kinds == {"anki-export basic": ("anki-export::removed",), "anki-export cloze": ()}


def test_a_removed_cloze_section_is_shipped_once_more_with_all_its_cards(
        tmp_path: Path, anki: AnkiCollection) -> None:
    vault = write_vault(tmp_path / "vault", {"Rad/Facts.md": HIGHLIGHTED})
    out = tmp_path / "dist"
    reviews = studied(vault, out, anki)
    note = vault / "Rad/Facts.md"
    note.write_text(note.read_text().split("## Key facts")[0] + "## Plain\nNo clozes here.\n")
    assert "0 added, 0 changed, 1 removed" in build(vault, out, 1_700_000_100).output
    log = anki.import_package(package(out))
    assert len(log.updated) == 1 and not log.new
    retired = next(n for n in anki.notes() if n.notetype == "anki-export cloze")
    assert "anki-export::removed" in retired.tags
    assert "no longer in your notes" in retired.fields["Extra"]
    assert anki.review_state() == reviews and not anki.col.get_empty_cards().notes


def test_a_pinned_cloze_heading_can_be_reworded(tmp_path: Path, anki: AnkiCollection) -> None:
    vault = write_vault(tmp_path / "vault", {"Rad/Facts.md": HIGHLIGHTED.replace(
        "## Key facts", "## Key facts ^facts")})
    out = tmp_path / "dist"
    reviews = studied(vault, out, anki)
    note = vault / "Rad/Facts.md"
    note.write_text(note.read_text().replace("## Key facts ^facts", "## Core facts ^facts")
                    .replace("==IL-6==", "==interleukin 6=="))
    assert "0 added, 1 changed, 0 removed" in build(vault, out, 1_700_000_100).output
    log = anki.import_package(package(out))
    assert len(log.updated) == 1 and not log.new
    assert anki.review_state() == reviews
    (facts,) = [n for n in anki.notes() if n.notetype == "anki-export cloze"]
    assert "Core facts" in facts.fields["Text"] and "{{c1::interleukin 6}}" in facts.fields["Text"]


def test_highlight_clozes_one_card_each_or_all_together() -> None:
    markdown = "==IL-6== drives ==osteolysis==, and {{c1::kappa}} is explicit."
    one = render_markdown(markdown, RenderState(PurePosixPath("n.md"), 1,
                                                clozes=ClozeScan(HIGHLIGHTS)))
    assert one.html == ("<p>{{c2::IL-6}} drives {{c3::osteolysis}}, and {{c1::kappa}} is "
                        "explicit.</p>")
    together = render_markdown(markdown, RenderState(PurePosixPath("n.md"), 1,
                                                     clozes=ClozeScan(TOGETHER)))
    assert together.html == ("<p>{{c2::IL-6}} drives {{c2::osteolysis}}, and {{c1::kappa}} is "
                             "explicit.</p>")
    plain = render_markdown(markdown, RenderState(PurePosixPath("n.md"), 1))
    assert "<mark>IL-6</mark>" in plain.html and "{{c1::kappa}}" in plain.html


# --------------------------------------------------------------------------- numbering rule

def text(*items: str | int, together: bool = False) -> ClozeText:
    """A section's clozes: a string is a highlight with that text, a number an explicit cN."""
    clozes = tuple(Cloze(i, f"explicit {i}") if isinstance(i, int) else Cloze(None, i)
                   for i in items)
    return ClozeText("", clozes, together)


def numbered(section: ClozeText, memory: ClozeMemory | None = None
             ) -> tuple[dict[str, int], ClozeMemory, tuple[int, ...]]:
    result = number_clozes(section, memory or ClozeMemory())
    names = {section.clozes[i].text: n for i, n in result.highlights.items()}
    return names, result.memory, result.emptied


def test_first_build_numbers_highlights_in_order_after_explicit_numbers() -> None:
    names, memory, emptied = numbered(text("a", 1, "b", 3, "c"))
    assert names == {"a": 4, "b": 5, "c": 6} and emptied == ()
    assert memory.live == ((4, "a"), (1, "explicit 1"), (5, "b"), (3, "explicit 3"), (6, "c"))


def test_insert_delete_and_edit_never_renumber_the_rest() -> None:
    _, memory, _ = numbered(text("il-6", "osteolysis", "m-spike"))
    names, memory, emptied = numbered(text("monoclonal plasma cells", "il-6",
                                           "osteolytic lesions"), memory)
    assert names == {"il-6": 1, "osteolytic lesions": 2, "monoclonal plasma cells": 4}
    assert emptied == (3,) and memory.empty == ((3, "m-spike"),)
    # A number whose card is now empty goes to no other cloze …
    names, memory, emptied = numbered(text("il-6", "osteolytic lesions", "new"), memory)
    assert names["new"] == 5 and emptied == (4,)
    # … and the removed text, written again, gets its card (and its history) back.
    names, _, _ = numbered(text("il-6", "m-spike"), memory)
    assert names == {"il-6": 1, "m-spike": 3}


def test_an_edit_pairs_by_place_and_then_by_likeness() -> None:
    _, memory, _ = numbered(text("alpha", "beta", "gamma", "delta"))
    names, _, emptied = numbered(text("alpha", "beta two", "gamma", "delta!"), memory)
    assert names == {"alpha": 1, "beta two": 2, "gamma": 3, "delta!": 4} and emptied == ()
    names, _, emptied = numbered(text("alpha", "deltas"), memory)  # two gone, one edited
    assert names == {"alpha": 1, "deltas": 4} and emptied == (2, 3)
    names, _, _ = numbered(text("gamma", "alpha"), memory)  # moved: same text, same number
    assert names == {"gamma": 3, "alpha": 1}


def test_duplicates_together_and_explicit_numbers() -> None:
    _, memory, _ = numbered(text("x", "x", "y"))
    names = number_clozes(text("x", "y", "x"), memory).highlights
    assert names == {0: 1, 1: 3, 2: 2}
    # Together: one shared number, the one the highlights had.
    names = number_clozes(text("x", "x", "y", together=True), memory).highlights
    assert set(names.values()) == {1}
    # An explicit c1 wins its number; the highlight that had it gets a new one.
    assert numbered(text(1, "x", "y"), memory)[0] == {"x": 2, "y": 3}
    assert numbered(text("x", 2), ClozeMemory(((1, "x"), (2, "y"))))[0] == {"x": 1}


def test_past_c500_numbers_come_from_the_lowest_free_one() -> None:
    memory = ClozeMemory(((500, "old"),), ((1, "gone"),))
    assert numbered(text("old", "new"), memory)[0] == {"old": 500, "new": 2}


# --------------------------------------------------------------------------- check, manifest

def test_check_warns_about_clozes_that_cannot_work(tmp_path: Path) -> None:
    vault = write_vault(tmp_path / "vault", {"Broken.md": published("/broken/", """
        ## The {{c1::heading}}
        Text {{c1::never closed

        ## Empty only
        Just {{c1::}} here.
        """)})
    result = CliRunner().invoke(cli, ["check", str(vault)])
    lines = [line for line in result.output.splitlines() if "cloze" in line]
    path = (vault / "Broken.md").as_posix()
    assert lines == [
        f"{path}:4: warning: a cloze in a heading cannot work: the heading is the card's "
        "context (and a basic card's question); move the cloze into the section's text "
        "[cloze-in-heading]",
        f"{path}:5: warning: `{{{{c1::` is never closed with `}}}}` in its paragraph; it shows "
        "as typed [cloze-unclosed]",
        f"{path}:8: warning: an empty cloze hides nothing: its card shows a gap with nothing "
        "behind it; write the text to hide between `::` and `}}` [cloze-empty]"]


def test_a_bad_anki_cloze_value_names_the_file(tmp_path: Path) -> None:
    vault = write_vault(tmp_path / "vault", {"Odd.md": published("/odd/", "## A\n==x==\n",
                                                                 anki_cloze="sometimes")})
    result = build(vault, tmp_path / "dist", 1_700_000_000)
    assert result.exit_code == 1
    assert "Odd.md:2: error: anki-cloze must be one of highlights" in result.output


def test_lock_files_without_cloze_memory_still_load_and_read_the_same(tmp_path: Path) -> None:
    lock = tmp_path / "anki-export.lock"
    old = ('{\n  "anki-export": 1,\n  "notes": {\n    "abc": {"deck": "Rad", "digest": "d", '
           '"fields": ["Q", "", "S", "B"], "key": "/a/#q", "mod": 1700000000, "notetype": '
           '"anki-export basic", "source": "a.md", "tags": []}\n  }\n}\n')
    lock.write_text(old)
    manifest = read_manifest(lock)
    assert manifest.notes["abc"].clozes == () and manifest.notes["abc"].empty_clozes == ()
    write_manifest(lock, manifest)
    assert lock.read_text() == old


def test_the_cloze_notetype_is_a_contract() -> None:
    notetype = cloze_notetype()
    assert (notetype.name, notetype.fields, notetype.is_cloze) == (
        "anki-export cloze", ("Text", "Extra", "Source", "Breadcrumb"), True)
    assert [t.name for t in notetype.templates] == ["Cloze"]
    digest = hashlib.sha256("\x1f".join(
        [notetype.css, *(t.front + t.back for t in notetype.templates)]).encode()).hexdigest()
    # As in test_notetypes.py: a changed look needs a newer REVISION; record the new pair.
    assert (REVISION, digest[:16]) == (1796623200, "4527a5d5f517c800")


def test_the_config_key_and_option_opt_a_whole_vault_in(tmp_path: Path, new_anki: NewAnki
                                                         ) -> None:
    vault = write_vault(tmp_path / "vault", {"Rad/Plain.md": PLAIN, "Rad/Off.md": published(
        "/off/", "## Kept\nA ==highlight== stays.\n", anki_cloze="off")})
    assert build(vault, tmp_path / "a", 1_700_000_000, "--cloze", "highlights").exit_code == 0
    (tmp_path / "anki-export.toml").write_text('cloze = "highlights-together"\n')
    result = CliRunner().invoke(cli, ["build", str(vault), "-o", str(tmp_path / "b"), "-c",
                                      str(tmp_path / "anki-export.toml")])
    assert result.exit_code == 0
    for out in ("a", "b"):
        anki = new_anki()
        anki.import_package(package(tmp_path / out))
        kinds = {n.notetype: n.text for n in anki.notes()}
        assert "stays a highlight" in kinds["anki-export cloze"]
        assert "<mark>highlight</mark>" in kinds["anki-export basic"]  # `anki-cloze: off` wins
    (tmp_path / "anki-export.toml").write_text('cloze = "sometimes"\n')
    bad = CliRunner().invoke(cli, ["build", str(vault), "-c", str(tmp_path / "anki-export.toml")])
    assert bad.exit_code == 2 and "'cloze' must be \"highlights\"" in bad.output
