"""Input edge: find the vault's files and read notes as text.

The walk is sorted so every machine sees the same order (mkdocs' `get_files`), skips hidden folders
(`.obsidian`, `.trash`, `.git`), follows symlinked folders once (a symlink loop is reported, not
followed forever) and indexes every file by name so that links and images resolve the way
Obsidian resolves them: exact vault path first, else a unique file name anywhere in the vault.
"""

from __future__ import annotations

import os
import posixpath
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from .config import Config
from .errors import ConfigError, Diagnostic, Level, NotANote, NoteError
from .srcards import SETTINGS_FILE, load_settings

MAX_NOTE_BYTES = 8 * 1024 * 1024
"""Notes above this are skipped with a warning: nothing studied on a card is that long, and one
pathological file must not stall a scheduled build."""


def settled(mtime_ns: int, taken_at: int) -> bool:
    """A file modified within two seconds before its stats were taken (at `taken_at`) may have
    changed again within its timestamp's resolution (FAT's is two seconds): its stats prove
    nothing until later."""
    return mtime_ns < taken_at - 2_000_000_000


@dataclass(frozen=True, slots=True)
class FileStats:
    """Size and modification time (ns) of each file of the vault, taken as a build starts:
    what tells an unchanged file without reading it."""

    files: Mapping[PurePosixPath, tuple[int, int]]
    taken_at: int  # ns since the epoch

    def settled(self, mtime_ns: int) -> bool:
        return settled(mtime_ns, self.taken_at)

    def unsettled(self) -> list[PurePosixPath]:
        return [rel for rel, (_, mtime) in self.files.items() if not self.settled(mtime)]


_shared_paths: dict[str, PurePosixPath] = {}


def share_paths(paths: Iterable[PurePosixPath]) -> None:
    """Make `shared_path` give these very objects (the vault index's files) for their text,
    instead of parsing it into new ones: a build unpickles the path of every note and card
    that its workers send or its cache holds (`pickling` reduces a path to its text), and
    looks up the files its cached notes' links asked for; parsing a path cost more than the
    rest of a note's unpickling (20,000 notes: 0.25 s of an update's 2.7; 0.5 s of the
    link checks after a note is added). Replaces the paths shared before."""
    _shared_paths.clear()
    _shared_paths.update((str(path), path) for path in paths)


def shared_path(text: str) -> PurePosixPath:
    """The path of this text: the shared object where there is one, else a new one."""
    found = _shared_paths.get(text)
    return found if found is not None else PurePosixPath(text)


def stat_files(index: VaultIndex) -> FileStats | None:
    """None if a file cannot be looked at."""
    taken_at = time.time_ns()
    root = os.fspath(index.root)
    files = {}
    for rel in index.files:  # os on strings: a Path per file would cost more than its stat
        try:
            st = os.stat(os.path.join(root, rel))  # noqa: PTH116, PTH118
        except OSError:
            return None
        files[rel] = (st.st_size, st.st_mtime_ns)
    return FileStats(files, taken_at)


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One note read from disk; `rel` is the stable, machine-independent name used everywhere."""

    rel: PurePosixPath  # vault-relative, with `/` separators
    text: str  # decoded strictly as UTF-8, BOM removed, line endings normalised to "\n"


@dataclass(frozen=True, slots=True)
class VaultIndex:
    """Read-only lookups over every file in the vault, for links, embeds and images."""

    root: Path
    files: tuple[PurePosixPath, ...]  # every visible file, sorted
    notes: tuple[PurePosixPath, ...]  # every *.md file, sorted
    by_path: Mapping[str, PurePosixPath] = field(repr=False)  # casefolded path (no .md) → file
    by_name: Mapping[str, tuple[PurePosixPath, ...]] = field(repr=False)  # casefolded name → files

    def resolve(self, target: str, *, near: PurePosixPath | None = None) -> PurePosixPath | None:
        """Find `target` (a wiki-link target or image name) like Obsidian does.

        Exact vault path (with or without `.md`), then a path relative to the linking note, then a
        unique file name; an ambiguous name prefers the candidate closest to the linking note.
        """
        key = target.strip().strip("/").casefold()
        if not key:
            return None
        for candidate in (key, key + ".md"):
            if candidate in self.by_path:
                return self.by_path[candidate]
        if near is not None:  # on strings: a build resolves a link or two per section
            folder = near.as_posix().rpartition("/")[0]
            relative = posixpath.normpath(f"{folder}/{key}" if folder else key)
            for candidate in (relative, relative + ".md"):
                if candidate in self.by_path:
                    return self.by_path[candidate]
        name = key.rpartition("/")[2]
        if name in ("", "."):  # `a/.`: the path's name is `a`
            name = PurePosixPath(key).name
        found = self.by_name.get(name) or self.by_name.get(name + ".md") or ()
        if len(found) <= 1 or near is None:
            return found[0] if found else None
        return min(found, key=lambda p: (_distance(p, near), p.as_posix()))


def _distance(a: PurePosixPath, b: PurePosixPath) -> int:
    """Folders between two files: the nearest candidate wins an ambiguous name."""
    common = 0
    for x, y in zip(a.parent.parts, b.parent.parts, strict=False):
        if x != y:
            break
        common += 1
    return len(a.parent.parts) + len(b.parent.parts) - 2 * common


def scan_vault(root: Path) -> tuple[VaultIndex, tuple[Diagnostic, ...]]:
    """Walk the vault once and index every visible file."""
    if not root.is_dir():
        raise ConfigError(f"vault folder {root} does not exist; pass the folder holding your notes")
    diagnostics: list[Diagnostic] = []
    names = sorted(_walk(root, diagnostics))  # as strings: a path object each, once, below
    files = [PurePosixPath(name) for name in names]
    by_path = {_strip_md(name).casefold(): p for name, p in zip(names, files, strict=True)}
    by_path.update({name.casefold(): p for name, p in zip(names, files, strict=True)})
    by_name: dict[str, list[PurePosixPath]] = {}
    for name, p in zip(names, files, strict=True):
        by_name.setdefault(name.rpartition("/")[2].casefold(), []).append(p)
    notes = tuple(p for name, p in zip(names, files, strict=True)
                  if name.lower().endswith(".md"))
    index = VaultIndex(root, tuple(files), notes, by_path,
                       {k: tuple(v) for k, v in by_name.items()})
    return index, tuple(diagnostics)


def _strip_md(path: str) -> str:
    return path[:-3] if path.lower().endswith(".md") else path


def _walk(root: Path, diagnostics: list[Diagnostic]) -> Iterator[str]:
    """Every visible file, as a vault-relative POSIX path: `os.walk`'s walk (top down, folders
    in name order, links to folders followed, a folder that cannot be listed skipped), with
    the relative paths built as it goes (`os.path.relpath` of each folder took a third of a
    20,000-note vault's walk)."""
    seen: set[tuple[int, int]] = set()
    pending = [(os.fspath(root), "")]  # (folder, its vault-relative path + "/", or "")
    while pending:
        folder, prefix = pending.pop()
        info = os.stat(folder)  # noqa: PTH116
        real = (info.st_dev, info.st_ino)  # the folder itself, whichever link led here
        if real in seen:
            diagnostics.append(Diagnostic(Path(prefix.rstrip("/")), None, Level.WARNING,
                                          "symlink-loop",
                                          "folder links back into the vault; not read twice"))
            continue
        seen.add(real)
        try:
            with os.scandir(folder) as entries:
                visible = [entry for entry in entries if not entry.name.startswith(".")]
        except OSError:
            continue
        folders = []
        for entry in visible:
            if _is_folder(entry):
                folders.append(entry.name)
            else:
                yield prefix + entry.name
        pending += ((os.path.join(folder, name), f"{prefix}{name}/")  # noqa: PTH118
                    for name in sorted(folders, reverse=True))  # popped in name order


def _is_folder(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def read_note(root: Path, rel: PurePosixPath) -> SourceFile:
    """Read one note strictly: bad bytes are an error naming the line, never silently dropped."""
    path = root / rel
    try:
        size = path.stat().st_size
        if size > MAX_NOTE_BYTES:
            raise NoteError(f"note is {size / 1e6:.1f} MB, over the {MAX_NOTE_BYTES // 2**20} MB "
                            "limit for one note; split it into smaller notes",
                            path=Path(rel))
        data = path.read_bytes()
    except OSError as e:
        raise NoteError(f"cannot read the file ({e.strerror}); check its permissions",
                        path=Path(rel)) from e
    if b"\x00" in data[:8192]:
        raise NotANote("binary data in a .md file (is it an image or an export?); "
                        "rename it or move it out of the vault", path=Path(rel))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise NoteError(f"not valid UTF-8 (byte 0x{data[e.start]:02x}); re-save the file as UTF-8",
                        path=Path(rel), line=line) from e
    text = _NONCHARACTERS.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    return SourceFile(rel, text)


_NONCHARACTERS = re.compile("[\ufdd0-\ufdef]")
"""Unicode noncharacters: never text, and the renderer uses four of them as private markers.
(A regex, not `str.translate`: translating walks every character in Python's slow path.)"""


def with_plugin_settings(config: Config) -> tuple[Config, tuple[Diagnostic, ...]]:
    """The config with the vault's Spaced Repetition plugin settings (its defaults where the
    vault has none); a file that cannot be read is a warning, and the defaults hold."""
    if not config.sr_cards:
        return config, ()
    path = config.vault / SETTINGS_FILE
    try:
        text: str | None = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = None
    except (OSError, UnicodeDecodeError) as e:
        return config, (Diagnostic(path, None, Level.WARNING, "sr-settings",
                                   f"the Spaced Repetition plugin's settings cannot be read "
                                   f"({e}); its defaults are used"),)
    settings, problems = load_settings(text, config.vault)
    return replace(config, sr_settings=settings), problems
