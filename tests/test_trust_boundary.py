"""Someone else's garden is hostile input: what the input edge lets through (`vault.py`).

A vault is often another person's repository, built by CI that publishes the package. Nothing
outside the vault, in its hidden folders or in an unpublished note may reach a package; no
file may hang a build or fill its memory; odd frontmatter and names give messages, never
tracebacks. Each test builds a vault in tmp_path through the CLI and looks inside the package.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from anki_export.cli import cli

from .anki_helpers import AnkiCollection
from .conftest import published, write_vault

SECRET = "S3CRET-5f0e9d"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00"
       b"\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18"
       b"\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


def build(vault: Path, out: Path, *extra: str) -> Result:
    return CliRunner().invoke(cli, ["build", str(vault), "-o", str(out), *extra],
                              env={"SOURCE_DATE_EPOCH": "1700000000"}, catch_exceptions=False)


def package(out: Path) -> Path:
    (found,) = out.glob("*.apkg")
    return found


def shipped(out: Path) -> Iterator[bytes]:
    """Every member of every package in `out`, read whole."""
    for path in out.glob("*.apkg"):
        with zipfile.ZipFile(path) as zf:
            yield from (zf.read(name) for name in zf.namelist())


def test_links_out_of_the_vault_hidden_files_and_unpublished_notes_never_ship(
        tmp_path: Path, anki: AnkiCollection) -> None:
    (tmp_path / "outside-secret.txt").write_text(f"{SECRET} outside\n")
    vault = write_vault(tmp_path / "vault", {
        "N.md": published("/n/", """\
            ## S
            ![[leak.png]] ![[dot.png]] ![[env.png]] ![[alias.png]]

            ![x](Private.md)

            <img src="Private.md"> ![y](Private.md#Diary)
            """),
        "Private.md": f"---\ndg-publish: false\n---\n## Diary\n{SECRET} private\n",
        ".git/config": f"[http]\n\textraheader = AUTHORIZATION: basic {SECRET}\n",
    })
    (vault / "attachments").mkdir()
    (vault / "attachments" / "real.png").write_bytes(PNG)
    (vault / "leak.png").symlink_to(tmp_path / "outside-secret.txt")
    (vault / "dot.png").symlink_to(vault / ".git" / "config")
    (vault / "env.png").symlink_to("/proc/self/environ")
    (vault / "alias.png").symlink_to(Path("attachments") / "real.png")  # inside: followed
    out = tmp_path / "dist"
    result = build(vault, out)
    assert result.exit_code == 0, result.output
    assert "leak.png: warning: links to" in result.output
    assert "outside the vault; not read: copy the file into the vault" in result.output
    assert "env.png: warning: links to /proc/self/environ, outside the vault" in result.output
    assert "dot.png: warning: links into the hidden folder .git" in result.output
    assert "not-an-image" in result.output and "Private.md is not in this build" in result.output
    assert not any(SECRET.encode() in member for member in shipped(out))
    anki.import_package(package(out))
    (note,) = anki.notes()
    assert SECRET not in note.text
    assert [name.endswith("-alias.png") for name in anki.media_names()] == [True]
    assert anki.media_names() <= set(note.fields["Answer"].split('"'))


def test_fifos_sockets_and_devices_are_never_opened(tmp_path: Path) -> None:
    """In a subprocess with a time limit: a FIFO opened for reading would wait forever."""
    vault = write_vault(tmp_path / "vault", {
        "N.md": published("/n/", "## S\n![[zero.png]] ![[pipe.png]]\n")})
    os.mkfifo(vault / "pipe.md")
    os.mkfifo(vault / "pipe.png")
    (vault / "zero.md").symlink_to("/dev/zero")
    (vault / "zero.png").symlink_to("/dev/zero")
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(os.fspath(vault / "sock.md"))
        result = subprocess.run(
            [sys.executable, "-m", "anki_export", "build", vault, "-o", tmp_path / "dist"],
            capture_output=True, text=True, timeout=120,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    finally:
        sock.close()
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Traceback" not in output
    for name in ("pipe.md", "pipe.png"):
        assert f"{name}: warning: is a FIFO, not a regular file; not read" in output
    assert "sock.md: warning: is a socket, not a regular file" in output
    for name in ("zero.md", "zero.png"):
        assert f"{name}: warning: links to /dev/zero, outside the vault" in output
    assert "image `zero.png` not found in the vault" in output
    assert sum(len(member) for member in shipped(tmp_path / "dist")) < 1_000_000


def test_a_refused_file_is_named_by_every_build_and_taken_once_fixed(
        tmp_path: Path, anki: AnkiCollection) -> None:
    """The file index decides what every later step sees, incremental builds included: a
    build after a link out appears warns about it (no "Nothing changed"), and the file
    put in its place is shipped."""
    (tmp_path / "outside.png").write_bytes(PNG)
    vault = write_vault(tmp_path / "vault", {"N.md": published("/n/", "## S\n![[pic.png]]\n")})
    out = tmp_path / "dist"
    assert "image `pic.png` not found" in build(vault, out).output
    (vault / "pic.png").symlink_to(tmp_path / "outside.png")
    again = build(vault, out)
    assert "pic.png: warning: links to" in again.output and "Nothing changed" not in again.output
    assert "pic.png: warning: links to" in build(vault, out).output  # when nothing changed too
    (vault / "pic.png").unlink()
    (vault / "pic.png").write_bytes(PNG)
    fixed = build(vault, out)
    assert fixed.exit_code == 0 and "pic.png" not in fixed.output.split("Read ")[0]
    anki.import_package(package(out))
    assert [name.endswith("-pic.png") for name in anki.media_names()] == [True]


def test_a_yaml_alias_bomb_is_refused_naming_the_line(tmp_path: Path) -> None:
    """351 bytes that expand to 9**9 items: refused at once, even in an unpublished note."""
    bomb = ["a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]"] + [
        f"{x}: &{x} [" + ",".join([f"*{y}"] * 9) + "]" for x, y in zip("bcdefghi", "abcdefgh",
                                                                       strict=True)]
    vault = write_vault(tmp_path / "vault", {
        "Y.md": "---\n" + "\n".join(bomb) + "\ndg-path: *i\n---\n## S\nx\n",
        "N.md": published("/n/", "## S\nfine\n")})
    result = build(vault, tmp_path / "dist")
    assert result.exit_code == 1
    assert ("Y.md:3: error: YAML alias `*a` in the frontmatter; aliases are not read"
            in result.output)
    kept = build(vault, tmp_path / "dist", "--keep-going")
    assert kept.exit_code == 0 and "wrote 1 card" in kept.output


@pytest.mark.parametrize(("frontmatter", "message"), [
    ('{"a":' * 100_000 + "1" + "}" * 100_000, "Deep.md:2: error: JSON frontmatter nested too "
     "deep to read"),
    ("x: " + "[" * 100_000 + "]" * 100_000, "Deep.md:2: error: malformed YAML frontmatter: "
     "exceeded maximum nesting depth"),
    ("dg-publish: true\ndg-path: [a, b]", "Deep.md:2: error: dg-path must be text (a path "
     "such as `Folder/Note.md`), not a list"),
    ('{"dg-publish": true, "permalink": {"a": 1}}', "Deep.md:2: error: permalink must be text"
     " (a path such as `Folder/Note.md`), not a mapping"),
    ("dg-permalink: 12", "Deep.md:2: error: dg-permalink must be text (a path such as "
     "`Folder/Note.md`), not a number"),
])
def test_odd_frontmatter_is_a_clear_error(tmp_path: Path, frontmatter: str,
                                          message: str) -> None:
    vault = write_vault(tmp_path / "vault", {"Deep.md": f"---\n{frontmatter}\n---\n## S\nx\n"})
    result = build(vault, tmp_path / "dist")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert message in result.output


def test_odd_folder_and_file_names_build(tmp_path: Path, anki: AnkiCollection) -> None:
    """dg-path folders `a:` and `:b` would meet Anki's `::`; a `\\` names a folder on Windows."""
    vault = write_vault(tmp_path / "vault", {
        "A.md": '---\n{"dg-publish":true,"dg-path":"a:/:b/x.md"}\n---\n## S\n![[a\\b.png]]\n'})
    (vault / "a\\b.png").write_bytes(PNG)
    out = tmp_path / "dist"
    result = build(vault, out)
    assert result.exit_code == 0, result.output
    anki.import_package(package(out))
    (note,) = anki.notes()
    assert note.deck == "a::b"
    (image,) = anki.media_names()
    assert image.endswith("-a_b.png") and f'src="{image}"' in note.fields["Answer"]


def test_a_note_over_the_size_limit_is_skipped_with_a_warning(tmp_path: Path) -> None:
    from anki_export.vault import MAX_NOTE_BYTES

    vault = write_vault(tmp_path / "vault", {"N.md": published("/n/", "## S\nfine\n")})
    (vault / "Huge.md").write_bytes(b"---\ndg-publish: true\n---\n## Q\n"
                                    + b"w" * MAX_NOTE_BYTES)
    result = build(vault, tmp_path / "dist")
    assert result.exit_code == 0
    assert ("Huge.md: warning: note is 8.4 MB, over the 8 MB limit for one note; split it into "
            "smaller notes (skipped)") in result.output
    assert "wrote 1 card" in result.output


def test_a_note_named_like_an_attachment_is_embedded_and_its_edits_arrive(
        tmp_path: Path, anki: AnkiCollection) -> None:
    """`![[Podcast.mp3]]` finds `Podcast.mp3.md` (there is no such sound file), as in
    Obsidian; the note that embeds it is rendered again when it changes."""
    vault = write_vault(tmp_path / "vault", {
        "A.md": published("/a/", "## Q\n![[Podcast.mp3]]\n"),
        "Podcast.mp3.md": published("/p/", "## Part\nOLD TEXT\n")})
    out = tmp_path / "dist"
    assert build(vault, out).exit_code == 0
    (vault / "Podcast.mp3.md").write_text(published("/p/", "## Part\nNEW TEXT\n"))
    assert build(vault, out).exit_code == 0
    anki.import_package(package(out))
    embedding = next(n for n in anki.notes() if "Q" in n.question)
    assert "NEW TEXT" in embedding.text and "OLD TEXT" not in embedding.text


def test_an_image_over_the_size_limit_is_left_out(tmp_path: Path) -> None:
    from anki_export.vault import MAX_MEDIA_BYTES

    vault = write_vault(tmp_path / "vault", {"N.md": published("/n/", "## S\n![[big.png]]\n")})
    with (vault / "big.png").open("wb") as f:
        f.truncate(MAX_MEDIA_BYTES + 1)  # sparse: takes no room on the disk
    result = build(vault, tmp_path / "dist")
    assert result.exit_code == 0
    assert ("big.png: warning: media file is 105 MB, over the 100 MB limit for one media file"
            in result.output)
    assert "image `big.png` not found in the vault" in result.output
    assert sum(len(member) for member in shipped(tmp_path / "dist")) < 1_000_000
