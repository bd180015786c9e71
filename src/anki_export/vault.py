"""Input edge: find the vault's files and read notes as text.

This is the trust boundary: a vault is often someone else's garden repository, built by CI.
The walk is sorted so every machine sees the same order (mkdocs' `get_files`), skips hidden
folders (`.obsidian`, `.trash`, `.git`) and takes only regular files whose real path lies in
the vault's real path, outside hidden folders: a symlink is followed only where it leads there
(a folder once: a symlink loop is reported, not followed forever), and a link out of the vault,
a FIFO or a device is left out with a warning, decided here once, so no later step ever opens
one. Every file taken is indexed by name so that links and images resolve the way Obsidian
resolves them: exact vault path first, else a unique file name anywhere in the vault.
"""

from __future__ import annotations

import os
import posixpath
import re
import stat
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from .errors import ConfigError, Diagnostic, Level, NotANote, NoteError
from .files import open_regular, read_bounded
from .srcards import SETTINGS_FILE, load_settings

if TYPE_CHECKING:
    from .config import Config

MAX_NOTE_BYTES = 8 * 1024 * 1024
"""Notes above this are skipped with a warning: nothing studied on a card is that long, and one
pathological file must not stall a scheduled build."""
MAX_MEDIA_BYTES = 100 * 1024 * 1024
"""Media files above this are left out with a warning: AnkiWeb syncs no larger file, and one
pathological file must not fill the package."""

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".avif", ".bmp",
                            ".ico", ".tif", ".tiff"})
"""The only files a package ships: images, what a card shows (Anki's own list, and `.bmp`).
A note (`.md`) never is one, whatever links to it: `![x](Note.md)` embeds the note."""


def named_like_image(name: str) -> bool:
    """Whether a file or an embed's target is named like an image (its suffix, in any case):
    the one rule for what may ship as media, and for which embeds can never show a note
    (`links.shows_note`, `parse._embeds_notes`, which must agree for rebuilds to be right)."""
    return posixpath.splitext(name.rstrip("/"))[1].lower() in IMAGE_SUFFIXES


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
    looks up the files its cached notes' links asked for; parsing a path costs more than the
    rest of a note's unpickling, and a path shared is a path not held twice. Replaces the
    paths shared before."""
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


GARDEN_NOTES = Path("src", "site", "notes")
"""Where a Digital Garden repository holds the notes the plugin published (vault paths kept)."""
GARDEN_IMAGES = "../img/user/"
"""Where it holds their images (`src/site/img/user/<vault path>`), from the notes folder: the
index names them so, and a published image link (`/img/user/…`) resolves there."""
GARDEN_IMAGE_URL = "/img/user/"


def garden_notes(folder: Path) -> Path:
    """The notes of a garden repository given by its root (`src/site/notes`), else the folder:
    a nightly job in that repository builds it as it stands."""
    notes = folder / GARDEN_NOTES
    return notes if notes.is_dir() else folder


def garden_images(notes: Path) -> Path | None:
    """The images folder beside a garden repository's notes folder, if this is one."""
    if notes.resolve().parts[-3:] != GARDEN_NOTES.parts:
        return None
    images = notes / GARDEN_IMAGES
    return images if images.is_dir() else None


def _garden_folder_outside(notes: Path, folder: Path) -> str | None:
    """Where a garden repository's notes or images folder leads, if its real path lies
    outside the repository's (the folder three up from the notes, as written): a linked
    `src/site/notes` or `src/site/img/user` would make a vault of any folder of the machine."""
    written = Path(os.path.abspath(notes))  # noqa: PTH100 (`..` kept as written: not resolved)
    if written.parts[-3:] != GARDEN_NOTES.parts:
        return None
    real = os.path.realpath(folder)
    return None if _inside(real, os.path.realpath(written.parents[2])) else real


def _inside(real: str, top: str) -> bool:
    try:
        return os.path.relpath(real, top).split(os.sep)[0] != os.pardir  # noqa: PTH206
    except ValueError:  # on another drive (Windows)
        return False


def scan_vault(root: Path, leave_out: Callable[[str], bool] = lambda name: False
               ) -> tuple[VaultIndex, tuple[Diagnostic, ...]]:
    """Walk the vault once and index every visible file, but those `leave_out` names (by
    vault-relative POSIX path): the build's own output, where it lies inside the vault. In a
    garden repository's notes folder, also the published images beside it (as
    `../img/user/…`), walked by the same rules: they are the vault's attachments, moved there
    by the plugin."""
    if not root.is_dir():
        raise ConfigError(f"vault folder {root} does not exist; pass the folder holding your notes")
    outside = _garden_folder_outside(root, root)
    if outside is not None:
        raise ConfigError(f"the notes folder links to {outside}, outside the garden repository; "
                          "not read: make it a folder of the repository", path=root)
    diagnostics: list[Diagnostic] = []
    names = sorted(name for name in _walk(root, diagnostics)  # as strings: a path object
                   if not leave_out(name))  # each, once, below
    images = garden_images(root)
    if images is not None and (outside := _garden_folder_outside(root, images)) is not None:
        diagnostics.append(Diagnostic(Path(GARDEN_IMAGES), None, Level.WARNING, "not-read",
                                      f"the images folder links to {outside}, outside the "
                                      "garden repository; not read: make it a folder of the "
                                      "repository"))
        images = None
    if images is not None:
        found: list[Diagnostic] = []  # named from the images folder: from the notes', here
        names = sorted([*names, *(GARDEN_IMAGES + name for name in _walk(images, found))])
        diagnostics += (replace(d, path=Path(GARDEN_IMAGES, d.path or "")) for d in found)
    files = [PurePosixPath(name) for name in names]
    by_path = {_strip_md(name).casefold(): p for name, p in zip(names, files, strict=True)}
    by_path.update({name.casefold(): p for name, p in zip(names, files, strict=True)})
    by_name: dict[str, list[PurePosixPath]] = {}
    for name, p in zip(names, files, strict=True):
        by_name.setdefault(name.rpartition("/")[2].casefold(), []).append(p)
    notes = tuple(p for name, p in zip(names, files, strict=True)
                  if name.lower().endswith(".md") and not name.startswith(GARDEN_IMAGES))
    index = VaultIndex(root, tuple(files), notes, by_path,
                       {k: tuple(v) for k, v in by_name.items()})
    return index, tuple(diagnostics)


def _strip_md(path: str) -> str:
    return path[:-3] if path.lower().endswith(".md") else path


def _walk(root: Path, diagnostics: list[Diagnostic]) -> Iterator[str]:
    """Every file the vault may use, as a vault-relative POSIX path: `os.walk`'s walk (top
    down, folders in name order, a folder that cannot be listed skipped), with the relative
    paths built as it goes (`os.path.relpath` of each folder took a third of a 20,000-note
    vault's walk). Only symlinks cost a look beyond the folder listing (`_follow`)."""
    seen: set[tuple[int, int]] = set()
    top = os.path.realpath(root)
    pending = [(os.fspath(root), "")]  # (folder, its vault-relative path + "/", or "")
    while pending:
        folder, prefix = pending.pop()
        try:
            info = os.stat(folder)  # noqa: PTH116
        except OSError:  # gone since it was listed, or not ours to look at: as unlistable
            continue
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
            kind = _follow(entry, top) if entry.is_symlink() else _kind(entry)
            if kind == "folder":
                folders.append(entry.name)
            elif kind == "file":
                if _too_large(entry, prefix + entry.name, diagnostics):
                    continue
                yield prefix + entry.name
            else:
                diagnostics.append(Diagnostic(Path(prefix + entry.name), None, Level.WARNING,
                                              "not-read", kind))
        pending += ((os.path.join(folder, name), f"{prefix}{name}/")  # noqa: PTH118
                    for name in sorted(folders, reverse=True))  # popped in name order


def _kind(entry: os.DirEntry[str]) -> str:
    """"folder", "file", or why the entry is not read: from the folder listing alone."""
    try:
        if entry.is_dir(follow_symlinks=False):
            return "folder"
        if entry.is_file(follow_symlinks=False):
            return "file"
        return _not_regular(entry.stat(follow_symlinks=False).st_mode)
    except OSError as e:
        return f"cannot be looked at ({e.strerror}); not read: check its permissions"


def _follow(entry: os.DirEntry[str], top: str) -> str:
    """What a symlink leads to, as `_kind` says it: a file or folder only where its real
    path lies inside the vault's (`top`) and in no hidden folder. A link that leads nowhere
    inside the vault counts as a file, so reading it names the problem."""
    target = os.path.realpath(entry.path)
    try:
        inside = os.path.relpath(target, top).split(os.sep)  # noqa: PTH206 (a Path each costs)
    except ValueError:  # on another drive (Windows)
        inside = [os.pardir]
    if inside[0] == os.pardir:
        return (f"links to {_written(entry, target)}, outside the vault; not read: copy the "
                "file into the vault instead of linking to it")
    hidden = next((part for part in inside if part.startswith(".") and part != os.curdir), None)
    if hidden is not None:
        return (f"links into the hidden folder {hidden} of the vault; not read: hidden folders "
                "are never published, move the file out of it")
    try:
        mode = os.stat(target).st_mode  # noqa: PTH116
    except OSError:
        return "file"
    return "folder" if stat.S_ISDIR(mode) else "file" if stat.S_ISREG(mode) else (
        _not_regular(mode))


def _written(entry: os.DirEntry[str], target: str) -> str:
    """The link as written (`ls -l` shows it), which names the target as the user knows it."""
    try:
        return str(Path(entry.path).readlink())
    except OSError:
        return target


def _not_regular(mode: int) -> str:
    what = ("a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a file")
    return f"is {what}, not a regular file; not read: remove it from the vault"


def _too_large(entry: os.DirEntry[str], rel: str, diagnostics: list[Diagnostic]) -> bool:
    """Whether a media file is over `MAX_MEDIA_BYTES` (warned): only media are looked at,
    the only files a package ships (a note's read is bounded as it is read)."""
    if not named_like_image(rel):
        return False
    try:
        size = entry.stat().st_size
    except OSError:
        return False
    if size <= MAX_MEDIA_BYTES:
        return False
    diagnostics.append(Diagnostic(
        Path(rel), None, Level.WARNING, "media-too-large",
        f"media file is {size / 1e6:.0f} MB, over the {MAX_MEDIA_BYTES // 2**20} MB limit for "
        "one media file (AnkiWeb syncs no larger file); not shipped: make it smaller"))
    return True


def read_note(root: Path, rel: PurePosixPath) -> SourceFile:
    """Read one note strictly: bad bytes are an error naming the line, never silently dropped.
    At most `MAX_NOTE_BYTES` + 1 bytes are read, whatever the file claims (it may grow)."""
    try:
        with open_regular(root / rel) as f:
            size = os.fstat(f.fileno()).st_size
            # The size it claims, + 1: a read of the limit would allocate 8 MB for each note.
            data = f.read(size + 1) if size <= MAX_NOTE_BYTES else b""
            if len(data) > size:  # it grew since, or claims no size: read on to the limit
                data += f.read(MAX_NOTE_BYTES + 1 - len(data))
    except OSError as e:
        raise NoteError(f"cannot read the file ({e.strerror}); check its permissions",
                        path=Path(rel)) from e
    if size > MAX_NOTE_BYTES or len(data) > MAX_NOTE_BYTES:
        raise NotANote(f"note is {max(size, len(data)) / 1e6:.1f} MB, over the "
                       f"{MAX_NOTE_BYTES // 2**20} MB limit for one note; split it into "
                       "smaller notes", path=Path(rel))
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


SETTINGS_LIMIT = 1024 * 1024
"""Bytes read of the plugin's settings file: a few KB in practice."""


def with_plugin_settings(config: Config) -> tuple[Config, tuple[Diagnostic, ...]]:
    """The config with the vault's Spaced Repetition plugin settings (its defaults where the
    vault has none); a file that cannot be read is a warning, and the defaults hold."""
    if not config.sr_cards:
        return config, ()
    path = config.vault / SETTINGS_FILE
    try:  # a file of someone else's vault: a regular file in it, read up to a bound
        if not _inside(os.path.realpath(path), os.path.realpath(config.vault)):
            raise ValueError("it links out of the vault")
        text: str | None = read_bounded(path, SETTINGS_LIMIT).decode("utf-8")
    except FileNotFoundError:
        text = None
    except (OSError, ValueError) as e:
        return config, (Diagnostic(Path(SETTINGS_FILE), None, Level.WARNING, "sr-settings",
                                   f"the Spaced Repetition plugin's settings cannot be read "
                                   f"({e}); its defaults are used"),)
    settings, problems = load_settings(text)
    return replace(config, sr_settings=settings), problems
