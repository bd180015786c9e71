"""Build settings: one frozen dataclass, filled from defaults, then `anki-export.toml`, then the
command line (mkdocs' `load_config`): every key of the file is also an option, and the command
line wins. Unknown keys and wrong types are errors naming the file and line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .cloze import MODES as CLOZE_MODES
from .errors import ConfigError
from .srcards import SrSettings

DEFAULT_SKIPPED_HEADINGS = ("Related", "References", "See also", "Sources", "Links")
CONFIG_NAME = "anki-export.toml"


@dataclass(frozen=True, slots=True)
class Config:
    """Every setting of a build: command-line options over `anki-export.toml`."""

    vault: Path = Path("notes")
    output: Path = Path("dist")
    root_deck: str | None = None  # every deck goes under this one; None puts folders at the top
    published_only: bool = True  # Digital Garden's `dg-publish` filter; False reads every note
    heading_level: int = 2  # the heading level that starts a card (per note: `anki-heading-level`)
    skipped_headings: tuple[str, ...] = DEFAULT_SKIPPED_HEADINGS
    question_format: str = "{title} — {heading}"
    site_url: str | None = None  # garden's base URL: links and the Source field point there
    tags: tuple[str, ...] = ()  # added to every card
    folder_tags: bool = False  # also tag each card with its note's folder path (`Rad::MSK`)
    cloze: str | None = None  # "highlights": each ==x== a cloze; per note `anki-cloze`
    package_name: str | None = None  # file name of the .apkg; default: the root deck or vault name
    split: bool = False  # one package per top-level deck instead of one for the vault
    manifest: Path | None = None  # build manifest; default `anki-export.lock` beside the package
    strict: bool = False  # warnings fail the build, like `mkdocs build --strict`
    keep_going: bool = False  # skip notes with errors instead of failing the build
    sr_cards: bool = True  # cards in the Spaced Repetition plugin's syntax, in tagged notes
    sr_settings: SrSettings = field(default_factory=SrSettings)  # its settings, from the vault

    @property
    def manifest_path(self) -> Path:
        return self.manifest or self.output / "anki-export.lock"

    @property
    def package_path(self) -> Path:
        name = self.package_name or self.root_deck or self.vault.resolve().name or "notes"
        return self.output / f"{file_stem(name.removesuffix('.apkg'))}.apkg"


def file_stem(name: str) -> str:
    """A deck or vault name as a portable file name: `Rad::MSK` → `Rad-MSK`."""
    stem = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "-", name.replace("::", "-")).strip(" .-")
    return stem or "notes"


@dataclass(frozen=True, slots=True)
class _Key:
    """How one key of `anki-export.toml` sets a `Config` field, and what it must be."""

    field: str  # Config field it sets
    kind: str  # what the user must write, for the error message
    check: Callable[[object], bool]


def _is_str(v: object) -> bool:
    return isinstance(v, str)


def _is_bool(v: object) -> bool:
    return isinstance(v, bool)


def _is_str_list(v: object) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def _is_level(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 6


KEYS: Mapping[str, _Key] = {
    "vault": _Key("vault", "a path", _is_str),
    "output": _Key("output", "a path", _is_str),
    "deck": _Key("root_deck", "a deck name", _is_str),
    "published-only": _Key("published_only", "true or false", _is_bool),
    "heading-level": _Key("heading_level", "a number from 1 to 6", _is_level),
    "skip-headings": _Key("skipped_headings", "a list of strings", _is_str_list),
    "question-format": _Key("question_format", "a string with {heading} (and maybe {title})",
                            lambda v: isinstance(v, str) and is_question_format(v)),
    "site-url": _Key("site_url", "a URL string", _is_str),
    "tags": _Key("tags", "a list of strings", _is_str_list),
    "folder-tags": _Key("folder_tags", "true or false", _is_bool),
    "cloze": _Key("cloze", " or ".join(f'"{m}"' for m in CLOZE_MODES),
                  lambda v: isinstance(v, str) and v in CLOZE_MODES),
    "package-name": _Key("package_name", "a file name", _is_str),
    "split": _Key("split", "true or false", _is_bool),
    "manifest": _Key("manifest", "a path", _is_str),
    "strict": _Key("strict", "true or false", _is_bool),
    "keep-going": _Key("keep_going", "true or false", _is_bool),
    "sr-cards": _Key("sr_cards", "true or false", _is_bool),
}
_PATHS = {"vault", "output", "manifest"}


def is_question_format(text: str) -> bool:
    """Whether `text` names {heading}, and nothing but {title} and {heading}."""
    try:
        text.format(title="", heading="")
    except (KeyError, IndexError, ValueError, AttributeError, TypeError):
        return False  # `{deck}`, `{heading.x}`, `{heading[0]}`, a lone `{`
    return "{heading}" in text


def find_config(explicit: Path | None, vault: Path | None) -> Path | None:
    """`--config`, else `anki-export.toml` in the working folder, else in the vault."""
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"config file {explicit} does not exist")
        return explicit
    for folder in (Path.cwd(), vault or Config().vault):
        if (folder / CONFIG_NAME).is_file():
            return folder / CONFIG_NAME
    return None


def load_config(path: Path | None, overrides: Mapping[str, Any]) -> Config:
    """Defaults, then the file at `path`, then `overrides` (command-line values; None = unset)."""
    config = Config()
    if path is not None:
        config = replace(config, **read_config_file(path))
    given = {k: v for k, v in overrides.items() if v is not None}
    unknown = set(given) - {f.name for f in fields(Config)}
    if unknown:
        raise ValueError(f"not Config fields: {sorted(unknown)}")  # a programming error
    return replace(config, **given)


def read_config_file(path: Path) -> dict[str, Any]:
    """The file's settings as Config field values; paths relative to the file's folder."""
    import tomllib  # here: most vaults have no config file

    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read the config file ({e})", path=path) from e
    except tomllib.TOMLDecodeError as e:
        line = re.search(r"line (\d+)", str(e))
        raise ConfigError(f"not valid TOML: {e}", path=path,
                          line=int(line.group(1)) if line else None) from e
    values: dict[str, Any] = {}
    for key, value in data.items():
        spec = KEYS.get(key)
        if spec is None:
            raise ConfigError(f"unknown key '{key}'; the keys are: {', '.join(KEYS)}",
                              path=path, line=_line_of(text, key))
        if not spec.check(value):
            raise ConfigError(f"'{key}' must be {spec.kind}, not {value!r}", path=path,
                              line=_line_of(text, key))
        if key in _PATHS:
            value = path.parent / str(value)
        elif isinstance(value, list):
            value = tuple(value)
        values[spec.field] = value
    if "vault" not in values and path.parent.resolve() != Path.cwd().resolve():
        values["vault"] = path.parent  # a config inside the vault describes that vault
    return values


def _line_of(text: str, key: str) -> int | None:
    match = re.search(rf'^\s*"?{re.escape(key)}"?\s*=', text, flags=re.M)
    return text.count("\n", 0, match.start()) + 1 if match else None


STARTER_CONFIG = '''\
# anki-export settings. Every key is also a command-line option; the command line wins.
# Paths are relative to this file.

# The folder holding your notes, and where the .apkg and its build manifest go.
vault = "{vault}"
output = "dist"

# Put every deck under one root deck (decks otherwise mirror your dg-path folders).
# deck = "Medicine"

# Only notes with `dg-publish: true`, as the Digital Garden publishes them.
published-only = true

# The heading level that starts a card: 2 makes each `##` section a card.
# A note can choose its own with `anki-heading-level: 3` in its frontmatter.
heading-level = 2

# Sections under these headings give no card.
skip-headings = ["Related", "References", "See also", "Sources", "Links"]

# The question of each card, from {{title}} and {{heading}}.
question-format = "{{title}} — {{heading}}"

# Your garden's address: wiki-links and the source line then link to its pages.
# site-url = "https://my-garden.example.org"

# Tags added to every card, and a tag from each note's folder path (`Rad::MSK::Bone`).
tags = []
folder-tags = false

# Make each ==highlight== a cloze card ("highlights"), or hide all of a section's
# highlights at once on one card ("highlights-together"). A note can choose with
# `anki-cloze: highlights` in its frontmatter. Anki's own {{{{c1::…}}}} always makes clozes.
# cloze = "highlights"

# The package's file name (default: the root deck, else the vault folder's name),
# and whether to write one package per top-level deck instead.
# package-name = "garden"
split = false

# Warnings fail the build, as errors do.
strict = false
'''
