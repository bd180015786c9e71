"""How link targets find vault files: the rules Obsidian follows (see `VaultIndex.resolve`)."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

import pytest

from anki_export.errors import NoteError
from anki_export.files import file_digest
from anki_export.vault import read_note, scan_vault

FILES = ("Top.md", "Rad/Lesion.md", "Rad/Sub/Deep.md", "Other/Lesion.md", "attachments/img.png")


@pytest.mark.parametrize(("target", "near", "found"), [
    ("Rad/Lesion", None, "Rad/Lesion.md"),  # the vault path, without .md
    ("rad/lesion.md", "Top.md", "Rad/Lesion.md"),  # any case, with .md
    ("Deep", "Top.md", "Rad/Sub/Deep.md"),  # a name found once in the vault
    ("img.png", "Rad/Sub/Deep.md", "attachments/img.png"),
    ("Sub/Deep", "Rad/Lesion.md", "Rad/Sub/Deep.md"),  # a path from the linking note
    ("./Deep", "Rad/Sub/Deep.md", "Rad/Sub/Deep.md"),
    ("../Rad/Lesion", "Other/Lesion.md", "Rad/Lesion.md"),
    ("Lesion", "Other/Lesion.md", "Other/Lesion.md"),  # a name found twice: the nearest
    ("Lesion", "Rad/Sub/Deep.md", "Rad/Lesion.md"),
    ("Lesion", "Top.md", "Other/Lesion.md"),  # as near as each other: the first by path
    ("Deep/.", "Top.md", "Rad/Sub/Deep.md"),  # a path's name, as pathlib gives it
    ("/Top/", "Rad/Lesion.md", "Top.md"),
    ("Missing", "Top.md", None),
    (" ", "Top.md", None),
])
def test_a_target_finds_the_file_obsidian_would(tmp_path: Path, target: str, near: str | None,
                                                found: str | None) -> None:
    for name in FILES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x", encoding="utf-8")
    index, _ = scan_vault(tmp_path)
    result = index.resolve(target, near=PurePosixPath(near) if near else None)
    assert result == (PurePosixPath(found) if found else None)


def test_the_index_holds_only_regular_files_inside_the_vault(tmp_path: Path) -> None:
    """Decided once, as the vault is walked: no later step sees the rest."""
    vault = tmp_path / "vault"
    (vault / "attachments").mkdir(parents=True)
    (vault / ".hidden").mkdir()
    for name in ("Note.md", "attachments/img.png", ".hidden/secret.md", "../outside.md"):
        (vault / name).write_text("x", encoding="utf-8")
    (vault / "inside.png").symlink_to(vault / "attachments" / "img.png")
    (vault / "linked").symlink_to(vault / "attachments")
    (vault / "out.md").symlink_to(tmp_path / "outside.md")
    (vault / "out").symlink_to(tmp_path)
    (vault / "hidden.md").symlink_to(vault / ".hidden" / "secret.md")
    (vault / "zero.md").symlink_to("/dev/zero")
    os.mkfifo(vault / "pipe.md")
    index, problems = scan_vault(vault)
    assert [p.as_posix() for p in index.files] == [
        "Note.md", "attachments/img.png", "inside.png"]
    assert {(d.path.as_posix() if d.path else "", d.message.split(";")[0]) for d in problems} == {
        ("out.md", f"links to {tmp_path / 'outside.md'}, outside the vault"),
        ("out", f"links to {tmp_path}, outside the vault"),
        ("hidden.md", "links into the hidden folder .hidden of the vault"),
        ("zero.md", "links to /dev/zero, outside the vault"),
        ("pipe.md", "is a FIFO, not a regular file"),
        ("linked", "folder links back into the vault"),  # the same folder is read once
    }


def test_reads_never_open_what_is_not_a_regular_file(tmp_path: Path) -> None:
    """Should such a file take a note's place after the walk: refused, never read."""
    (tmp_path / "zero.md").symlink_to("/dev/zero")
    with pytest.raises(NoteError, match=r"cannot read the file \(not a regular file\)"):
        read_note(tmp_path, PurePosixPath("zero.md"))
    assert file_digest(tmp_path / "zero.md") == ""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="Linux's /proc")
def test_a_file_that_claims_no_size_is_still_read_to_the_limit(tmp_path: Path) -> None:
    """/proc's files say they are empty: the read goes on past the size a file claims (as
    for one that grew since), up to the limit + 1 byte."""
    (tmp_path / "status.md").symlink_to("/proc/self/status")
    assert "Name:" in read_note(tmp_path, PurePosixPath("status.md")).text
