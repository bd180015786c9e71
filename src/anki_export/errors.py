"""One exception hierarchy and one diagnostic type for the whole pipeline.

The core never prints: it raises an `AnkiExportError` for problems that stop a build and returns
`Diagnostic`s for everything else. `cli.py` maps both to output lines and exit codes, so the
library works the same without Click.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import ClassVar


class Level(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """A finding about one place in the vault, printed ruff-style as `path:line: level: message`."""

    path: Path | None  # vault-relative where possible, so messages read the same on every machine
    line: int | None  # 1-based line in the source file, None when the finding is about the file
    level: Level
    code: str  # short stable name, e.g. "duplicate-permalink", for --format json and filtering
    message: str  # `{file0}`, `{file1}`… stand for the `related` files (`text` fills them in)
    related: tuple[Path, ...] = ()  # other files the message names, vault-relative as `path`

    def display_path(self, root: Path | None) -> str | None:
        """The path as the user wrote it: under the vault folder given on the command line,
        so editors and CI annotations can open it."""
        return None if self.path is None else _shown(self.path, root)

    def text(self, root: Path | None = None) -> str:
        """The message, naming its other files as `display_path` names the first: a message
        that named them vault-relative read `Rad/X.md` beside `src/site/notes/Rad/Y.md`."""
        message = self.message
        for number, path in enumerate(self.related):
            message = message.replace(f"{{file{number}}}", _shown(path, root))
        return message

    def format(self, root: Path | None = None) -> str:
        """`path:line: level: message [code]`, the line format of compilers and linters."""
        shown = self.display_path(root)
        where = f"{shown}:{self.line}: " if shown and self.line else f"{shown}: " if shown else ""
        return f"{where}{self.level.value}: {self.text(root)} [{self.code}]"

    def __str__(self) -> str:
        return self.format()

    @property
    def sort_key(self) -> tuple[str, int, str]:
        return (self.path.as_posix() if self.path else "", self.line or 0, self.code)


def _shown(path: Path, root: Path | None) -> str:
    return (root / path).as_posix() if root is not None else path.as_posix()


class AnkiExportError(Exception):
    """A problem that stops the build; `exit_code` is what the CLI returns for it."""

    exit_code: ClassVar[int] = 1

    def __init__(self, message: str, *, path: Path | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line

    def __str__(self) -> str:
        if self.path is None:
            return self.message
        where = f"{self.path.as_posix()}:{self.line}" if self.line else self.path.as_posix()
        return f"{where}: {self.message}"

    def as_diagnostic(self, code: str) -> Diagnostic:
        return Diagnostic(self.path, self.line, Level.ERROR, code, self.message)


class ConfigError(AnkiExportError):
    """Bad configuration: an unknown key, a wrong type, a vault that does not exist."""

    exit_code: ClassVar[int] = 2


class NoteError(AnkiExportError):
    """A note that cannot be read or parsed (encoding, frontmatter, binary content)."""


class NotANote(NoteError):
    """A `.md` file that is not read as a note: no text in it (a binary file misnamed), or over
    the size limit (`vault.MAX_NOTE_BYTES`). Skipped with a warning, its cards kept as they
    were."""


class OutputError(AnkiExportError):
    """The package cannot be written (permissions, disk full)."""


class BuildFailed(AnkiExportError):
    """Raised when a build found errors; carries every diagnostic, not only the first."""

    def __init__(self, diagnostics: tuple[Diagnostic, ...]) -> None:
        errors = sum(d.level is Level.ERROR for d in diagnostics)
        warnings = sum(d.level is Level.WARNING for d in diagnostics)
        why = (f"{errors} error" + ("" if errors == 1 else "s") if errors else
               f"{warnings} warning" + ("" if warnings == 1 else "s") + " and --strict")
        super().__init__(f"build failed with {why}; nothing was written, the last package "
                         "(if any) is as it was")
        self.diagnostics = diagnostics
