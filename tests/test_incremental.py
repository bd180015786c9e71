"""Incremental builds give exactly what a fresh build gives, and skip all work when nothing
changed: the render cache must never serve a stale card."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from anki_export.build import BuildResult
from anki_export.build import build as run_build
from anki_export.cli import cli
from anki_export.config import Config
from anki_export.errors import BuildFailed, OutputError

from .anki_helpers import AnkiCollection, package_content
from .conftest import SETTLED, published, write_vault


def build(vault: Path, out: Path, *extra: str) -> Result:
    result = CliRunner().invoke(cli, ["build", str(vault), "-o", str(out), *extra],
                                env={"SOURCE_DATE_EPOCH": "1700000000"},
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def fresh_package(vault: Path, out: Path) -> dict[str, object]:
    """What the same build holds without the render cache (the manifest is kept)."""
    shutil.rmtree(out / ".anki-export-cache")
    build(vault, out)
    return package_content(next(out.glob("*.apkg")))


def vault_in(tmp_path: Path) -> Path:
    return write_vault(tmp_path / "v", {
        "Bone/Lesion.md": published("/lesion/", "## Signs\nSee [[Marrow]] and ![[Marrow#Cells]]\n"),
        "Bone/Marrow.md": published("/marrow/", "## Cells\nplasma cells\n## Fat\nyellow\n"),
        "Bone/Other.md": published("/other/", "## Q\nLinks to [[Lesion]].\n"),
    })


def test_nothing_changed_means_nothing_rewritten(tmp_path: Path) -> None:
    vault, out = vault_in(tmp_path), tmp_path / "out"
    build(vault, out)
    package = next(out.glob("*.apkg"))
    before = package.stat().st_mtime_ns
    again = build(vault, out)
    assert "Nothing changed since the last build" in again.output
    assert package.stat().st_mtime_ns == before
    assert "Read 3 notes" in build(vault, out, "--deck", "New").output  # settings count


def test_cached_rebuild_equals_a_fresh_one_after_edits(tmp_path: Path) -> None:
    vault, out = vault_in(tmp_path), tmp_path / "out"
    build(vault, out)
    # An embedded section changes: the embedding note's card must change with it.
    marrow = vault / "Bone/Marrow.md"
    marrow.write_text(marrow.read_text().replace("plasma cells", "plasma and mast cells"))
    build(vault, out)
    cached = package_content(next(out.glob("*.apkg")))
    assert cached == fresh_package(vault, out)

    # A linked note is renamed: links to it show the new name.
    (vault / "Bone/Lesion.md").rename(vault / "Bone/Lytic lesion.md")
    result = build(vault, out)
    assert "broken-link" in result.output  # [[Lesion]] no longer resolves
    assert package_content(next(out.glob("*.apkg"))) == fresh_package(vault, out)


def test_what_links_point_at_is_looked_up_again_when_the_vault_changes(tmp_path: Path) -> None:
    """A note's cached cards stand only while what its links asked of the vault gets the same
    answers: a note added where a link pointed at nothing, a linked note's new permalink or
    title, a linked note gone. Each rebuild holds what a build without the cache gives."""
    vault = write_vault(tmp_path / "v", {
        "Rad/Lesion.md": published("/lesion/", "## Signs\nSee [[Marrow]] and [[Fat]].\n"),
        "Rad/Marrow.md": published("/marrow/", "## Cells\nplasma cells\n"),
        "Rad/Other.md": published("/other/", "## Q\nno links here\n"),
    })
    out = tmp_path / "out"

    def rebuilt() -> str:
        output = build(vault, out, "--site-url", "https://garden.example").output
        assert package_content(next(out.glob("*.apkg"))) == fresh_package_at(vault, out)
        return output

    rebuilt()
    (vault / "Rad/Fat.md").write_text(published("/fat/", "## Kinds\nyellow\n"))
    assert "1 added, 1 changed" in rebuilt()  # Lesion's [[Fat]] now links
    (vault / "Rad/Marrow.md").write_text(published("/bone-marrow/", "## Cells\nplasma cells\n"))
    assert "1 added, 1 changed, 1 removed" in rebuilt()  # Marrow anew; the link to it
    (vault / "Rad/Fat.md").unlink()
    output = rebuilt()
    assert "broken-link" in output and "1 changed, 1 removed" in output


def fresh_package_at(vault: Path, out: Path) -> dict[str, object]:
    """`fresh_package`, built with the garden's URL as the test's builds are."""
    shutil.rmtree(out / ".anki-export-cache")
    build(vault, out, "--site-url", "https://garden.example")
    return package_content(next(out.glob("*.apkg")))


def test_many_edits_between_unchanged_notes_come_back_in_order(tmp_path: Path) -> None:
    """A rebuild where worker processes render the edited notes (150 or more) while the
    unchanged ones come from the cache, interleaved: the package holds what a build without
    the cache gives."""
    from anki_export.parallel import PARALLEL_FROM

    count = 2 * PARALLEL_FROM + 20
    notes = {f"Deck{n % 7}/Note {n:03}.md": published(f"/n{n}/", f"## Q{n}\nanswer {n}\n")
             for n in range(count)}
    vault, out = write_vault(tmp_path / "v", notes), tmp_path / "out"
    build(vault, out)
    for n in range(1, count, 2):  # every other note: more than PARALLEL_FROM, interleaved
        (vault / f"Deck{n % 7}/Note {n:03}.md").write_text(
            published(f"/n{n}/", f"## Q{n}\nanswer {n}, edited\n## Extra {n}\nmore\n"),
            encoding="utf-8")
    result = build(vault, out)
    assert f"{count // 2} added, {count // 2} changed" in result.output
    package = package_content(next(out.glob("*.apkg")))
    assert fresh_package(vault, out) == package


def test_check_reads_the_build_cache_and_writes_nothing(tmp_path: Path) -> None:
    vault, out = vault_in(tmp_path), tmp_path / "out"
    build(vault, out)
    cache = out / ".anki-export-cache" / "render.sqlite"
    before = cache.read_bytes()
    (vault / "Bone/Other.md").write_text(published("/other/", "## Q\nLinks to [[Nowhere]].\n"))
    result = CliRunner().invoke(cli, ["check", str(vault), "-o", str(out)])
    assert result.exit_code == 0 and "Nowhere" in result.output  # the edited note is rendered
    assert cache.read_bytes() == before
    fresh = tmp_path / "never-built"
    assert CliRunner().invoke(cli, ["check", str(vault), "-o", str(fresh)]).exit_code == 0
    assert not fresh.exists()


def library_build(vault: Path, out: Path, at: int = 1_700_000_000,
                  **settings: object) -> BuildResult:
    return run_build(Config(vault=vault, output=out, **settings), now=at)  # type: ignore[arg-type]


def test_edited_answers_update_the_kept_package_in_place(tmp_path: Path,
                                                        anki: AnkiCollection) -> None:
    """The common rebuild: the same notes and cards, some answers edited. Only those notes
    are rendered and written; the package holds what a fresh build holds, Anki takes the
    edits and keeps every review."""
    from anki_export.parallel import PARALLEL_FROM

    count = 2 * PARALLEL_FROM + 20  # enough edits for the worker processes
    notes = {f"Deck{n % 7}/Note {n:03}.md": published(f"/n{n}/", f"## Q{n}\nanswer {n}\n")
             for n in range(count)}
    vault, out = write_vault(tmp_path / "v", notes), tmp_path / "out"
    first = library_build(vault, out)
    assert not first.updated_in_place
    anki.import_package(next(out.glob("*.apkg")))
    anki.answer_every_card()
    reviews = anki.review_state()
    for n in range(1, count, 2):
        (vault / f"Deck{n % 7}/Note {n:03}.md").write_text(
            published(f"/n{n}/", f"## Q{n}\nanswer {n}, edited\n"), encoding="utf-8")
    second = library_build(vault, out, 1_700_000_100)
    assert second.updated_in_place
    assert second.changes is not None and len(second.changes.changed) == count // 2
    assert second.changes.unchanged == count - count // 2 and second.cards == count
    package = next(out.glob("*.apkg"))
    assert package_content(package) == fresh_package(vault, out)
    anki.import_package(package)
    assert anki.review_state() == reviews
    assert sum("edited" in note.text for note in anki.notes()) == count // 2


def test_an_update_falls_back_to_a_full_build_when_the_cards_change(tmp_path: Path) -> None:
    vault, out = vault_in(tmp_path), tmp_path / "out"
    library_build(vault, out)
    marrow = vault / "Bone/Marrow.md"
    marrow.write_text(marrow.read_text() + "## Vessels\nsinusoids\n")  # a new card
    result = library_build(vault, out, 1_700_000_100)
    assert not result.updated_in_place and result.changes is not None
    assert len(result.changes.added) == 1
    assert package_content(next(out.glob("*.apkg"))) == fresh_package(vault, out)


def test_an_update_needs_the_kept_collection_and_the_package(tmp_path: Path) -> None:
    vault, out = vault_in(tmp_path), tmp_path / "out"
    library_build(vault, out)
    other = vault / "Bone/Other.md"
    for n, remove in enumerate([out / "v.apkg", out / ".anki-export-cache" / "v.apkg.anki2"]):
        remove.unlink()
        other.write_text(published("/other/", f"## Q\nLinks to [[Lesion]], edit {n}.\n"))
        result = library_build(vault, out, 1_700_000_100 + n)
        assert not result.updated_in_place and (out / "v.apkg").exists()
    other.write_text(published("/other/", "## Q\nLinks to [[Lesion]], edit 3.\n"))
    assert library_build(vault, out, 1_700_000_200).updated_in_place


def test_an_update_rewrites_only_the_packages_with_changes(tmp_path: Path) -> None:
    vault, out = write_vault(tmp_path / "v", {
        "Bone/Lesion.md": published("/lesion/", "## Signs\nlytic\n"),
        "Heart/Valve.md": published("/valve/", "## Murmur\nsystolic\n"),
    }), tmp_path / "out"
    library_build(vault, out, split=True)
    bone, heart = out / "Bone.apkg", out / "Heart.apkg"
    before = bone.stat().st_mtime_ns, heart.read_bytes()
    (vault / "Bone/Lesion.md").write_text(published("/lesion/", "## Signs\npunched out\n"))
    result = library_build(vault, out, 1_700_000_100, split=True)
    assert result.updated_in_place and result.packages == (bone, heart)
    assert heart.read_bytes() == before[1] and bone.stat().st_mtime_ns != before[0]
    assert "punched out" in str(package_content(bone)["notes"])


def test_an_edit_that_breaks_a_note_fails_and_keeps_the_package(tmp_path: Path) -> None:
    vault, out = vault_in(tmp_path), tmp_path / "out"
    library_build(vault, out)
    good = (out / "v.apkg").read_bytes()
    (vault / "Bone/Other.md").write_text("---\ndg-publish: true\npermalink: [x\n---\n## Q\nA\n")
    with pytest.raises(BuildFailed):
        library_build(vault, out, 1_700_000_100)
    assert (out / "v.apkg").read_bytes() == good
    (vault / "Bone/Other.md").write_text(published("/other/", "## Q\nLinks to [[Lesion]]!\n"))
    assert library_build(vault, out, 1_700_000_200).updated_in_place


def test_a_package_that_cannot_take_its_place_leaves_the_manifest_as_it_was(
        tmp_path: Path) -> None:
    """The manifest only ever describes packages that were written: a build whose package
    cannot replace the last one fails, and the lock file keeps the last build's cards."""
    vault, out = vault_in(tmp_path), tmp_path / "out"
    library_build(vault, out)
    lock = (out / "anki-export.lock").read_bytes()
    (vault / "Bone/Other.md").write_text(published("/other/", "## Q\nLinks to [[Lesion]]!\n"))
    (out / "v.apkg").unlink()
    (out / "v.apkg").mkdir()  # a folder where the package goes: it cannot be replaced
    with pytest.raises(OutputError, match="cannot write the package"):
        library_build(vault, out, 1_700_000_100)
    assert (out / "anki-export.lock").read_bytes() == lock
    (out / "v.apkg").rmdir()
    assert library_build(vault, out, 1_700_000_200).changes is not None
    assert (out / "anki-export.lock").read_bytes() != lock


def test_a_note_is_read_again_when_its_size_or_time_changed(tmp_path: Path) -> None:
    """Notes whose size and modification time are as the last build found them are not read
    again (nor hashed): an edit changes one or the other, as `make` and git rely on."""
    vault, out = vault_in(tmp_path), tmp_path / "out"
    marrow = vault / "Bone/Marrow.md"
    old = SETTLED  # long before the build: the stats can be trusted
    library_build(vault, out)
    same_size = marrow.read_text().replace("plasma cells", "plasma CELLS")
    marrow.write_text(same_size)
    os.utime(marrow, (old, old))  # a forged time: this build cannot tell
    assert "CELLS" not in str(package_content(out / "v.apkg")["notes"])
    library_build(vault, out, 1_700_000_100)
    assert "CELLS" not in str(package_content(out / "v.apkg")["notes"])
    os.utime(marrow, (old + 1, old + 1))  # any real edit moves the time
    library_build(vault, out, 1_700_000_200)
    assert "CELLS" in str(package_content(out / "v.apkg")["notes"])


def test_a_note_modified_just_before_a_build_is_read_again(tmp_path: Path) -> None:
    """Within two seconds of the read its time may not have moved for a second edit."""
    vault, out = vault_in(tmp_path), tmp_path / "out"
    marrow = vault / "Bone/Marrow.md"
    marrow.write_text(marrow.read_text())  # just saved
    library_build(vault, out)  # so its stats are too recent to trust next time
    stat = marrow.stat()
    marrow.write_text(marrow.read_text().replace("plasma cells", "plasma CELLS"))
    os.utime(marrow, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    library_build(vault, out, 1_700_000_100)
    assert "CELLS" in str(package_content(out / "v.apkg")["notes"])


def test_the_manifest_read_without_parsing_is_written_as_a_parsed_one(tmp_path: Path) -> None:
    """The last build's own manifest is not parsed (its entries are found by binary search and
    its lines merged with the new ones): each step's manifest equals a build's that parsed it."""
    vault = vault_in(tmp_path)
    steps: list[Callable[[], object]] = [
        lambda: None,
        lambda: (vault / "Bone/Marrow.md").write_text(  # an edit
            published("/marrow/", "## Cells\nplasma and mast cells\n## Fat\nyellow\n")),
        lambda: (vault / "Bone/Marrow.md").write_text(  # a section removed, one added
            published("/marrow/", "## Cells\nplasma and mast cells\n## Iron\nstores\n")),
        lambda: (vault / "Bone/Other.md").unlink(),  # a whole note gone
        lambda: write_vault(vault, {f"Bone/New {n}.md": published(f"/new-{n}/", f"## Q\n{n}\n")
                                    for n in range(30)}),  # many new entries between old ones
    ]
    kept, parsed = tmp_path / "kept", tmp_path / "parsed"
    for n, step in enumerate(steps):
        step()
        library_build(vault, kept, 1_700_000_000 + 100 * n)
        shutil.rmtree(parsed / ".anki-export-cache", ignore_errors=True)
        library_build(vault, parsed, 1_700_000_000 + 100 * n)
        lock = (kept / "anki-export.lock").read_text()
        assert lock == (parsed / "anki-export.lock").read_text(), f"step {n}"
    assert lock.count("anki-export::removed") == 2


def test_an_update_keeps_the_cached_cards_of_the_notes_it_left_alone(tmp_path: Path) -> None:
    """After an update in place, a full build (a card added) still renders only what changed."""
    from anki_export import collect

    vault, out = vault_in(tmp_path), tmp_path / "out"
    library_build(vault, out)
    (vault / "Bone/Other.md").write_text(published("/other/", "## Q\nLinks to [[Lesion]]!\n"))
    assert library_build(vault, out, 1_700_000_100).updated_in_place
    rendered: list[str] = []
    original = collect._RenderJob.run

    def run(job: collect._RenderJob, i: int) -> collect.NoteCards:
        rendered.append(job.notes[i].title)
        return original(job, i)

    write_vault(vault, {"Bone/Other.md": published("/other/", "## Q\nLinks.\n## R\nnew\n")})
    collect._RenderJob.run = run  # type: ignore[method-assign]
    try:
        result = library_build(vault, out, 1_700_000_200)
    finally:
        collect._RenderJob.run = original  # type: ignore[method-assign]
    assert not result.updated_in_place
    assert rendered == ["Lesion", "Other"]  # once each; Lesion embeds a note: any change counts


def test_a_manifest_checked_out_with_windows_line_endings_is_rewritten_whole(
        tmp_path: Path) -> None:
    """git's `autocrlf` turns the committed lock file's newlines into "\\r\\n"."""
    import json

    vault, out = vault_in(tmp_path), tmp_path / "out"
    library_build(vault, out)
    lock = out / "anki-export.lock"
    lock.write_bytes(lock.read_bytes().replace(b"\n", b"\r\n"))
    (vault / "Bone/Other.md").write_text(published("/other/", "## Q\nLinks to [[Lesion]]!\n"))
    library_build(vault, out, 1_700_000_100)
    text = lock.read_bytes()
    assert b"\r" not in text and len(json.loads(text)["notes"]) == 4


def test_a_note_saved_just_before_a_build_does_not_stop_the_next_from_finding_nothing_changed(
        tmp_path: Path) -> None:
    """Its stats prove nothing, so the next build compares its bytes instead."""
    vault, out = vault_in(tmp_path), tmp_path / "out"
    marrow = vault / "Bone/Marrow.md"
    marrow.write_text(marrow.read_text() + "\n")  # saved right now
    library_build(vault, out)
    assert library_build(vault, out).up_to_date
    stat = marrow.stat()
    marrow.write_text(marrow.read_text().replace("plasma cells", "plasma CELLS"))
    os.utime(marrow, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same size, same time
    again = library_build(vault, out, 1_700_000_100)
    assert not again.up_to_date and "CELLS" in str(package_content(out / "v.apkg")["notes"])


def test_a_cache_file_of_an_earlier_version_makes_way_for_the_cache_folder(
        tmp_path: Path) -> None:
    vault, out = vault_in(tmp_path), tmp_path / "out"
    out.mkdir()
    (out / ".anki-export-cache").write_bytes(b"SQLite format 3\x00 of an earlier version")
    library_build(vault, out)
    assert (out / ".anki-export-cache" / "render.sqlite").is_file()
    assert library_build(vault, out).up_to_date


def test_files_saved_just_before_a_build_do_not_stop_the_next_from_updating(
        tmp_path: Path) -> None:
    """An image saved just before a build is settled by the next: that alone must not make the
    next build a full one."""
    import time

    vault, out = vault_in(tmp_path), tmp_path / "out"
    (vault / "Bone/scan.png").write_bytes(b"\x89PNG just saved")
    library_build(vault, out)
    time.sleep(2.1)  # the image's stats can be trusted now
    (vault / "Bone/Other.md").write_text(published("/other/", "## Q\nLinks to [[Lesion]]!\n"))
    assert library_build(vault, out, 1_700_000_100).updated_in_place


def test_an_update_that_pins_a_heading_keeps_the_pin(tmp_path: Path) -> None:
    """Pinning a heading keeps its card's GUID, so the build updates in place, but the card's
    key changes: the manifest's facts that the cache keeps must change with it, or the pin is
    forgotten when the heading is next reworded (and the card made anew)."""
    note = "Bone/Lesion.md"
    vault = write_vault(tmp_path / "v", {note: published("/lesion/", "## Signs\nlytic\n")})
    out = tmp_path / "out"
    library_build(vault, out)
    (vault / note).write_text(published("/lesion/", "## Signs ^signs\nlytic\n"))
    assert library_build(vault, out, 1_700_000_100).updated_in_place
    (vault / note).write_text(published("/lesion/", "## Lytic signs ^signs\nlytic\n"))
    reworded = library_build(vault, out, 1_700_000_200)
    assert reworded.changes is not None
    assert (reworded.changes.added, len(reworded.changes.changed)) == ((), 1)
    assert reworded.updated_in_place


def test_a_package_replaced_from_elsewhere_is_built_again(tmp_path: Path) -> None:
    """The shortcut "nothing changed" holds only for the very package the last build wrote
    (its size and modification time): another tool's or another build's is replaced."""
    vault, out = vault_in(tmp_path), tmp_path / "out"
    build(vault, out)
    package = next(out.glob("*.apkg"))
    written = package.read_bytes()
    package.write_bytes(b"an older package, copied here")
    result = build(vault, out)
    assert "Nothing changed" not in result.output and package.read_bytes() == written
    assert "Nothing changed" in build(vault, out).output


@pytest.mark.parametrize("damaged", ["v.apkg.anki2", "render.sqlite"])
def test_a_damaged_cache_is_dropped_with_one_warning(tmp_path: Path, damaged: str) -> None:
    """A cache file damaged in place (its size and time as they were) fails no build: the
    collection kept for updates in place is removed, with a warning, and the build done in
    full; a damaged render cache starts afresh. The next build says nothing of it."""
    vault, out = vault_in(tmp_path), tmp_path / "out"
    build(vault, out)
    cached = out / ".anki-export-cache" / damaged
    stat = cached.stat()
    cached.write_bytes(b"\xff" * stat.st_size)
    os.utime(cached, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    other = vault / "Bone/Other.md"
    other.write_text(published("/other/", "## Q\nLinks to [[Lesion]], edited.\n"))
    result = build(vault, out)
    assert ("cache-damaged" in result.output) == (damaged == "v.apkg.anki2")
    assert "1 changed" in result.output
    assert package_content(next(out.glob("*.apkg"))) == fresh_package(vault, out)
    again = build(vault, out)
    assert "Nothing changed" in again.output and "cache-damaged" not in again.output


@pytest.mark.parametrize("output", ["dist", "."])
def test_an_output_folder_and_manifest_inside_the_vault_are_not_vault_files(
        tmp_path: Path, output: str) -> None:
    """The packages and manifest the build writes into the vault, and all else in its
    output folder (a report), are its own: the next build finds nothing changed, and an
    edit is updated in place, not built in full."""
    vault = vault_in(tmp_path)
    out = vault / output
    report = (out if output == "dist" else tmp_path) / "r.json"
    args = ("--manifest", str(vault / "anki-export.lock"), "--report", str(report))
    build(vault, out, *args)
    assert "Nothing changed" in build(vault, out, *args).output
    other = vault / "Bone/Other.md"
    other.write_text(published("/other/", "## Q\nLinks to [[Lesion]], edited.\n"))
    assert library_build(vault, out, manifest=vault / "anki-export.lock").updated_in_place
