"""Regeneration safety: rebuild and re-import again and again, as users do for months.

Every test imports real packages into a real Anki collection with Anki's default options and
checks what a user would see: edits arrive, reviews stay, nothing is duplicated or lost.
`SOURCE_DATE_EPOCH` stands in for the clock so the tests need not sleep.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from anki_export import notetypes
from anki_export.cli import cli
from anki_export.ids import note_guid
from anki_export.package import NoteType

from .anki_helpers import AnkiCollection
from .conftest import published, write_vault

NOTE = published("/rad/lesion/", """
    # Lesion
    ## Hallmark
    - a well-defined lytic focus
    ## Imaging
    - CT: no matrix
    ## Treatment
    - curettage
    """)


def build(vault: Path, out: Path, at: int, *extra: str) -> Result:
    result = CliRunner().invoke(cli, ["build", str(vault), "-o", str(out), *extra],
                                env={"SOURCE_DATE_EPOCH": str(at)}, catch_exceptions=False)
    return result


def package(out: Path) -> Path:
    (found,) = out.glob("*.apkg")
    return found


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    return write_vault(tmp_path / "vault", {"Rad/Lesion.md": NOTE, "Rad/Other.md": published(
        "/rad/other/", "## One\nfirst\n## Two\nsecond\n")})


def edit(path: Path, old: str, new: str) -> None:
    path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")


def test_edits_arrive_and_every_review_survives(vault: Path, tmp_path: Path,
                                                anki: AnkiCollection) -> None:
    out = tmp_path / "dist"
    assert build(vault, out, 1_700_000_000).exit_code == 0
    anki.import_package(package(out))
    anki.answer_every_card()
    reviews = anki.review_state()
    before = anki.by_guid()
    assert all(state[0] == 1 for state in reviews.values())

    edit(vault / "Rad/Lesion.md", "no matrix", "no matrix, narrow zone of transition")
    edit(vault / "Rad/Other.md", "second", "second, revised")
    result = build(vault, out, 1_700_000_100)
    assert "0 added, 2 changed, 0 removed, 3 unchanged" in result.output
    log = anki.import_package(package(out))

    after = anki.by_guid()
    assert len(log.updated) == 2 and not log.new
    assert set(after) == set(before)
    assert "narrow zone" in after[_guid_with(after, "Imaging")].fields["Answer"]
    assert anki.review_state() == reviews
    unchanged = [g for g in after if "Imaging" not in after[g].question
                 and "Two" not in after[g].question]
    assert all(after[g].mod == before[g].mod for g in unchanged)


def _guid_with(notes: dict, text: str) -> str:  # type: ignore[type-arg]
    (guid,) = [g for g, n in notes.items() if text in n.question]
    return guid


def test_unchanged_rebuild_is_byte_identical_and_touches_nothing(
        vault: Path, tmp_path: Path, anki: AnkiCollection) -> None:
    out = tmp_path / "dist"
    build(vault, out, 1_700_000_000)
    first = package(out).read_bytes()
    anki.import_package(package(out))
    build(vault, out, 1_700_009_999)  # a later clock changes nothing when nothing changed
    assert package(out).read_bytes() == first
    log = anki.import_package(package(out))
    assert not log.updated and not log.new


def test_two_checkouts_with_source_date_epoch_give_identical_packages(
        vault: Path, tmp_path: Path) -> None:
    copy = tmp_path / "elsewhere" / "garden"
    copy.parent.mkdir()
    vault.rename(copy)
    build(copy, tmp_path / "a", 1_700_000_000)
    copy.rename(vault)
    build(vault, tmp_path / "b", 1_700_000_000)
    assert package(tmp_path / "a").read_bytes() == package(tmp_path / "b").read_bytes()


def test_two_sections_given_one_guid_fail_the_build_naming_both(tmp_path: Path) -> None:
    """Only a hand-edited manifest can bind pins so that two sections get one GUID (here
    `^x` takes Bravo's GUID, which sends Bravo to its `~unpinned` GUID, and `^y` is bound
    to that one). Anki would merge the two: the build fails and names them."""
    vault = write_vault(tmp_path / "vault", {"Rad/Mix.md": published(
        "/mix/", "## Bravo\nb\n## Charlie ^y\nc\n## Delta ^x\nd\n")})
    out = tmp_path / "dist"
    assert build(vault, out, 1_700_000_000).exit_code == 0
    before = package(out).read_bytes()
    lock = out / "anki-export.lock"
    data = json.loads(lock.read_text(encoding="utf-8"))
    by_key = {entry["key"]: entry for entry in data["notes"].values()}
    data["notes"] = {note_guid("/mix/", "bravo"): by_key["/mix/#^x"],
                     note_guid("/mix/", "bravo~unpinned"): by_key["/mix/#^y"]}
    lock.write_text(json.dumps(data), encoding="utf-8")
    result = build(vault, out, 1_700_000_100)
    assert result.exit_code == 1
    assert ("Rad/Mix.md:6: error: this section would get the same card ID as /mix/#bravo "
            "(Rad/Mix.md)") in result.output
    assert package(out).read_bytes() == before


def test_pinned_heading_can_be_reworded_and_keeps_guid_and_reviews(
        vault: Path, tmp_path: Path, anki: AnkiCollection) -> None:
    out = tmp_path / "dist"
    build(vault, out, 1_700_000_000)
    anki.import_package(package(out))
    anki.answer_every_card()
    guid = _guid_with(anki.by_guid(), "Hallmark")
    reviews = anki.review_state()

    edit(vault / "Rad/Lesion.md", "## Hallmark", "## Hallmark ^core")  # pin it
    build(vault, out, 1_700_000_100)
    edit(vault / "Rad/Lesion.md", "## Hallmark ^core", "## Key finding ^core")  # reword it
    result = build(vault, out, 1_700_000_200)
    assert "0 added, 1 changed, 0 removed" in result.output
    log = anki.import_package(package(out))

    notes = anki.by_guid()
    assert notes[guid].question == "Lesion — Key finding"
    assert len(log.updated) == 1 and not log.new
    assert anki.review_state() == reviews


def test_removed_section_is_shipped_once_more_tagged_removed(
        vault: Path, tmp_path: Path, anki: AnkiCollection) -> None:
    out = tmp_path / "dist"
    build(vault, out, 1_700_000_000)
    anki.import_package(package(out))
    anki.answer_every_card()
    reviews = anki.review_state()
    guid = _guid_with(anki.by_guid(), "Treatment")

    edit(vault / "Rad/Lesion.md", "## Treatment\n- curettage\n", "")
    result = build(vault, out, 1_700_000_100)
    assert "0 added, 0 changed, 1 removed" in result.output
    anki.import_package(package(out))

    removed = anki.by_guid()[guid]
    assert "anki-export::removed" in removed.tags
    assert "no longer in your notes" in removed.fields["Answer"]
    assert anki.col.find_notes("tag:anki-export::removed") == [removed.id]
    assert anki.review_state() == reviews
    # Later builds keep shipping the same tombstone unchanged: nothing to update.
    build(vault, out, 1_700_000_200)
    log = anki.import_package(package(out))
    assert not log.updated and not log.new


def test_a_section_that_comes_back_is_live_again(vault: Path, tmp_path: Path,
                                                 anki: AnkiCollection) -> None:
    out = tmp_path / "dist"
    build(vault, out, 1_700_000_000)
    text = (vault / "Rad/Lesion.md").read_text()
    edit(vault / "Rad/Lesion.md", "## Treatment\n- curettage\n", "")
    build(vault, out, 1_700_000_100)
    anki.import_package(package(out))
    (vault / "Rad/Lesion.md").write_text(text)
    build(vault, out, 1_700_000_200)
    anki.import_package(package(out))
    assert not anki.col.find_notes("tag:anki-export::removed")
    assert len(anki.notes()) == 5


def test_notetype_upgrade_updates_the_look_and_keeps_every_card(
        vault: Path, tmp_path: Path, anki: AnkiCollection, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "dist"
    build(vault, out, 1_700_000_000)
    anki.import_package(package(out))
    anki.answer_every_card()
    reviews, guids = anki.review_state(), set(anki.by_guid())

    current = notetypes.basic_notetype()
    upgraded = NoteType(current.id, current.name, current.fields, current.templates,
                        current.css + "\n.ae-upgraded { color: red; }", current.is_cloze,
                        current.revision + 86400)
    monkeypatch.setattr(notetypes, "basic_notetype", lambda: upgraded)
    monkeypatch.setattr("anki_export.cards.basic_notetype", lambda: upgraded)
    build(vault, out, 1_700_000_100)
    anki.import_package(package(out))

    model = anki.col.models.get(anki.col.models.id_for_name(current.name))
    assert model is not None and ".ae-upgraded" in model["css"]
    assert [m.name for m in anki.col.models.all_names_and_ids() if "anki-export" in m.name] == [
        "anki-export basic"]
    assert set(anki.by_guid()) == guids and anki.review_state() == reviews


Case = Callable[[Path], None]
BAD_INPUTS: dict[str, tuple[str, bytes, int | None, int]] = {
    # name: (file, content, line expected in the message, exit code)
    "malformed yaml": ("Bad yaml.md", b"---\ndg-publish: true\npermalink: [x\n---\n## Q\n", 4, 1),
    "malformed json": ("Bad json.md", b'---\n{"dg-publish":true,"permalink":"/b/"\n---\n', 2, 1),
    "not utf-8": ("Latin1.md", b"---\ndg-publish: true\n---\n## Caf\xe9\nA\n", 4, 1),
    "binary": ("Binary.md", b"\x00\x01\x02PNG\x00", None, 0),
    "too large": ("Huge.md", b"---\ndg-publish: true\n---\n## Q\n" + b"word " * 2_000_000, None, 1),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_named_and_the_good_package_survives(case: str, vault: Path,
                                                          tmp_path: Path) -> None:
    out = tmp_path / "dist"
    build(vault, out, 1_700_000_000)
    good = package(out).read_bytes()
    name, content, line, code = BAD_INPUTS[case]
    (vault / name).write_bytes(content)
    result = build(vault, out, 1_700_000_100)
    assert result.exit_code == code, result.output
    assert (f"{name}:{line}:" if line else name) in result.output
    assert "Traceback" not in result.output
    assert package(out).read_bytes() == good
    names = sorted(p.name for p in out.iterdir())
    assert names == [".anki-export-cache", "anki-export.lock", "vault.apkg"]  # no temp file


def test_all_problems_are_listed_and_keep_going_builds_the_rest(vault: Path,
                                                                 tmp_path: Path) -> None:
    for name, content, _, _ in BAD_INPUTS.values():
        (vault / name).write_bytes(content)
    failed = build(vault, tmp_path / "dist", 1_700_000_000)
    assert failed.exit_code == 1
    assert all(name in failed.output for name, *_ in BAD_INPUTS.values())
    assert not (tmp_path / "dist").exists()
    kept = build(vault, tmp_path / "dist", 1_700_000_000, "--keep-going")
    assert kept.exit_code == 0 and "(skipped)" in kept.output
    assert "wrote 5 cards" in kept.output


def test_bom_crlf_empty_and_headingless_notes_build(vault: Path, tmp_path: Path,
                                                    anki: AnkiCollection) -> None:
    (vault / "Bom.md").write_bytes(b"\xef\xbb\xbf" + published("/bom/", "## Q\nA\n").encode())
    (vault / "Crlf.md").write_bytes(published("/crlf/", "## Q\nline 1\nline 2\n")
                                    .replace("\n", "\r\n").encode())
    (vault / "Empty.md").write_bytes(b"")
    (vault / "Flat.md").write_text(published("/flat/", "Just text, no headings.\n"))
    result = build(vault, tmp_path / "dist", 1_700_000_000)
    assert result.exit_code == 0
    assert "Flat.md" not in result.output  # its text is its intro: a card titled by the note
    anki.import_package(package(tmp_path / "dist"))
    answers = {n.question: n.fields["Answer"] for n in anki.notes()}
    assert answers["Flat"] == "<p>Just text, no headings.</p>"
    assert answers["Bom — Q"] == "<p>A</p>"
    assert answers["Crlf — Q"] == "<p>line 1<br>\nline 2</p>"


def test_strict_fails_on_warnings(vault: Path, tmp_path: Path) -> None:
    (vault / "Flat.md").write_text(published("/flat/", "## Related\n- see also\n"))
    assert build(vault, tmp_path / "a", 1_700_000_000).exit_code == 0
    strict = build(vault, tmp_path / "b", 1_700_000_000, "--strict")
    assert strict.exit_code == 1 and "Flat.md" in strict.output


def test_unreadable_file_and_symlink_loop(vault: Path, tmp_path: Path) -> None:
    out = tmp_path / "dist"
    build(vault, out, 1_700_000_000)
    good = package(out).read_bytes()
    (vault / "Gone.md").symlink_to(tmp_path / "nowhere.md")  # unreadable: a dangling link
    (vault / "Rad" / "loop").symlink_to(vault / "Rad")
    result = build(vault, out, 1_700_000_100)
    assert result.exit_code == 1
    assert "Gone.md: error: cannot read the file" in result.output
    assert "Rad/loop" in result.output and "links back into the vault" in result.output
    assert package(out).read_bytes() == good


def test_unwritable_output_is_a_clear_error(vault: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = build(vault, blocker / "dist", 1_700_000_000)
    assert result.exit_code == 1
    assert "cannot create the output folder" in result.output and "Traceback" not in result.output
    assert f"{blocker / 'dist'}" in result.output


def test_no_usable_temporary_folder_is_a_clear_error(vault: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The notes' sections then stay in memory (`pickling.new_spill`), but the package is
    built in a temporary folder: the build says it cannot write, and the last package
    stays as it was."""
    import tempfile

    out = tmp_path / "dist"
    build(vault, out, 1_700_000_000)
    good = package(out).read_bytes()
    edit(vault / "Rad/Lesion.md", "curettage", "curettage and grafting")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no such folder"))
    result = build(vault, out, 1_700_000_100)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "cannot write the package (No such file or directory)" in result.output
    assert package(out).read_bytes() == good


def test_a_read_only_output_folder_keeps_the_previous_package(vault: Path,
                                                              tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders; the check needs an ordinary user")
    out = tmp_path / "dist"
    build(vault, out, 1_700_000_000)
    good = package(out).read_bytes()
    edit(vault / "Rad/Lesion.md", "curettage", "curettage and grafting")
    out.chmod(0o555)
    try:
        result = build(vault, out, 1_700_000_100)
    finally:
        out.chmod(0o755)
    assert result.exit_code == 1 and "cannot write" in result.output
    assert package(out).read_bytes() == good
