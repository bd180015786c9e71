"""Build settings: one frozen dataclass with the defaults, filled from the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_SKIPPED_HEADINGS = ("Related", "References", "See also", "Sources", "Links")


@dataclass(frozen=True, slots=True)
class Config:
    vault: Path = Path("notes")
    output: Path = Path("dist")
    root_deck: str | None = None  # every deck goes under this one; None puts folders at the top
    published_only: bool = True  # Digital Garden's `dg-publish` filter; False reads every note
    heading_level: int = 2  # the heading level that starts a card (per note: `anki-heading-level`)
    skipped_headings: tuple[str, ...] = DEFAULT_SKIPPED_HEADINGS
    question_format: str = "{title} — {heading}"
    site_url: str | None = None  # garden's base URL: links and the Source field point there
    package_name: str | None = None  # file name of the .apkg; default: the root deck or vault name
    strict: bool = False  # warnings fail the build, like `mkdocs build --strict`
    keep_going: bool = False  # skip notes with errors instead of failing the build
    manifest: Path | None = None  # build manifest; default `anki-export.lock` beside the package

    @property
    def manifest_path(self) -> Path:
        return self.manifest or self.output / "anki-export.lock"

    @property
    def package_path(self) -> Path:
        name = self.package_name or self.root_deck or self.vault.resolve().name or "notes"
        stem = name.removesuffix(".apkg").replace("::", "-").replace("/", "-").strip() or "notes"
        return self.output / f"{stem}.apkg"
