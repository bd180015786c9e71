"""One build at a time per output folder: a second build waits for the first (or, told not
to, fails), and a build cleans up after builds that were killed midway."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from anki_export.cli import cli

from .anki_helpers import package_content
from .conftest import published, write_vault


def held_lock(out: Path) -> int:
    """The lock of `out` taken as another build would take it."""
    lock = out / ".anki-export-cache" / "build.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def vault_at(tmp_path: Path) -> Path:
    return write_vault(tmp_path / "v", {"N.md": published("/n/", "## Q\nanswer\n")})


def test_a_second_build_waits_for_the_first_and_then_builds(tmp_path: Path) -> None:
    vault, out = vault_at(tmp_path), tmp_path / "out"
    fd = held_lock(out)
    second = subprocess.Popen(
        [sys.executable, "-m", "anki_export", "build", str(vault), "-o", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert second.stderr is not None
        assert "is running; waiting" in second.stderr.readline()  # and it waits, unbuilt
        assert not list(out.glob("*.apkg"))
    finally:
        os.close(fd)
    stdout, _ = second.communicate(timeout=60)
    assert second.returncode == 0 and "wrote 1 card" in stdout


def test_no_wait_fails_clearly_while_another_build_runs(tmp_path: Path) -> None:
    vault, out = vault_at(tmp_path), tmp_path / "out"
    fd = held_lock(out)
    try:
        result = CliRunner().invoke(cli, ["build", str(vault), "-o", str(out), "--no-wait"])
    finally:
        os.close(fd)
    assert result.exit_code == 1
    assert "another build of this output folder is running" in result.output
    assert "Traceback" not in result.output and not list(out.glob("*.apkg"))
    assert CliRunner().invoke(cli, ["build", str(vault), "-o", str(out), "--no-wait"]
                              ).exit_code == 0


def test_a_build_removes_what_killed_builds_left(tmp_path: Path) -> None:
    vault, out = vault_at(tmp_path), tmp_path / "out"
    assert CliRunner().invoke(cli, ["build", str(vault), "-o", str(out)]).exit_code == 0
    left = [out / ".v.apkg.k1ll3d.tmp", out / ".anki-export.lock.k1ll3d.tmp",
            out / ".anki-export-cache" / "work-k1ll3d" / "collection.anki2"]
    for path in left:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"half written")
    mine = out / ".notes.md.k1ll3d.tmp"  # not a name this tool writes here
    mine.write_text("a user's file")
    package = package_content(out / "v.apkg")
    result = CliRunner().invoke(cli, ["build", str(vault), "-o", str(out)])
    assert result.exit_code == 0 and "Nothing changed" in result.output
    assert not any(p.exists() for p in left) and not left[2].parent.exists()
    assert mine.exists() and package_content(out / "v.apkg") == package
