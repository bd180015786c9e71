"""How link targets find vault files: the rules Obsidian follows (see `VaultIndex.resolve`)."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from anki_export.vault import scan_vault

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
