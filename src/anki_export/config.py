"""Build settings: one frozen dataclass, filled from defaults, then `anki-export.toml`, then the
command line (mkdocs' `load_config`): every key of the file is also an option, and the command
line wins. Unknown keys and wrong types are errors naming the file and line.
"""

from __future__ import annotations

import os
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import urlsplit

from .cloze import MODES as CLOZE_MODES
from .errors import ConfigError
from .files import TooLarge, read_bounded
from .srcards import SrSettings
from .vault import GARDEN_NOTES, garden_notes

DEFAULT_SKIPPED_HEADINGS = ("Related", "References", "See also", "Sources", "Links")
CONFIG_NAME = "anki-export.toml"
CONFIG_LIMIT = 256 * 1024  # bytes read of a settings file, which may be someone else's

AUTO: Final = "auto"
HeadingLevel = int | Literal["auto"]
"""A heading level that starts a card, or `auto`: per note, the level its sections are at."""


@dataclass(frozen=True, slots=True)
class Config:
    """Every setting of a build: command-line options over `anki-export.toml`."""

    vault: Path = Path("notes")
    output: Path = Path("dist")
    root_deck: str | None = None  # every deck goes under this one; None puts folders at the top
    published_only: bool = True  # Digital Garden's `dg-publish` filter; False reads every note
    heading_level: HeadingLevel = AUTO  # the level that starts a card; `auto`: each note's own
    heading_level_by_folder: tuple[tuple[str, HeadingLevel], ...] = ()  # (vault folder "a/b",
    # level): notes below the folder (the longest given) split there; `anki-heading-level` wins
    intro: str = "card"  # "card": the text before a note's first heading is a card; "skip"
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
    max_answer_words: int = 300  # `check` and `build` warn about longer answers; 0: never
    sr_cards: bool = True  # cards in the Spaced Repetition plugin's syntax, in tagged notes
    sr_settings: SrSettings = field(default_factory=SrSettings)  # its settings, from the vault

    @property
    def manifest_path(self) -> Path:
        return self.manifest or self.output / "anki-export.lock"

    @property
    def vault_name(self) -> str:
        """The vault folder's name; a garden repository's for its notes folder: the name of
        the default package, and the deck of the notes at the vault's top."""
        folder = self.vault.resolve()
        if folder.parts[-3:] == GARDEN_NOTES.parts:
            folder = folder.parents[2]
        return folder.name or "notes"

    @property
    def package_path(self) -> Path:
        if self.package_name:
            return self.output / f"{file_stem(self.package_name.removesuffix('.apkg'))}.apkg"
        return self.output / f"{package_stem(self.root_deck or self.vault_name)}.apkg"


def file_stem(name: str) -> str:
    """A deck or vault name as a portable file name: `Rad::MSK` → `Rad-MSK`."""
    stem = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "-", name.replace("::", "-")).strip(" .-")
    return stem or "notes"


_WHOLE_COLLECTION = re.compile(r"collection|backup-.*", re.IGNORECASE)
"""Package names Anki desktop imports as a whole collection, replacing the user's
(`collection.apkg`, `backup-*.apkg`), whatever the file holds."""
RENAMED_SUFFIX = "-deck"


def package_stem(name: str) -> str:
    """The file name (without `.apkg`) of a package named after a deck or the vault: a name
    Anki would take for a whole collection gets `-deck` added (`collection-deck`)."""
    stem = file_stem(name)
    return stem + RENAMED_SUFFIX if takes_whole_collection(stem) else stem


def takes_whole_collection(stem: str) -> bool:
    """Whether Anki desktop reads `<stem>.apkg` as a whole collection to replace its own."""
    return _WHOLE_COLLECTION.fullmatch(stem) is not None


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
    return v == AUTO or (isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 6)


def _is_folder_levels(v: object) -> bool:
    return isinstance(v, dict) and all(
        isinstance(folder, str) and folder.strip("/") and _is_level(level)
        for folder, level in v.items())


INTRO_CHOICES = ("card", "skip")


SITE_URL_KIND = ("your garden's http:// or https:// address, such as "
                 '"https://my-garden.example.org"')
_NOT_IN_URL = re.compile(r"[\x00-\x20\x7f\\\"'<>`]")


def is_site_url(text: str) -> bool:
    """Whether `text` is an http(s) address with a host: every Source line and wiki-link of
    every card links to it, so a settings file in someone else's vault must not put a
    `javascript:` (or any other) URL there."""
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:  # `http://[::1`
        return False
    return parts.scheme in ("http", "https") and bool(host) and not _NOT_IN_URL.search(text)


KEYS: Mapping[str, _Key] = {
    "vault": _Key("vault", "a path", _is_str),
    "output": _Key("output", "a path", _is_str),
    "deck": _Key("root_deck", "a deck name", _is_str),
    "published-only": _Key("published_only", "true or false", _is_bool),
    "heading-level": _Key("heading_level", 'a number from 1 to 6, or "auto"', _is_level),
    "heading-level-by-folder": _Key(
        "heading_level_by_folder",
        'a table of vault folders and levels (`"Physics" = 3`, a level being 1 to 6 or "auto")',
        _is_folder_levels),
    "intro": _Key("intro", '"card" or "skip"', lambda v: v in INTRO_CHOICES),
    "skip-headings": _Key("skipped_headings", "a list of strings", _is_str_list),
    "question-format": _Key("question_format", "a string with {heading} (and maybe {title})",
                            lambda v: isinstance(v, str) and is_question_format(v)),
    "site-url": _Key("site_url", SITE_URL_KIND,
                     lambda v: isinstance(v, str) and is_site_url(v)),
    "tags": _Key("tags", "a list of strings", _is_str_list),
    "folder-tags": _Key("folder_tags", "true or false", _is_bool),
    "cloze": _Key("cloze", " or ".join(f'"{m}"' for m in CLOZE_MODES),
                  lambda v: isinstance(v, str) and v in CLOZE_MODES),
    "package-name": _Key("package_name", "a file name", _is_str),
    "split": _Key("split", "true or false", _is_bool),
    "manifest": _Key("manifest", "a path", _is_str),
    "strict": _Key("strict", "true or false", _is_bool),
    "keep-going": _Key("keep_going", "true or false", _is_bool),
    "max-answer-words": _Key("max_answer_words", "a number (0: no limit)",
                             lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0),
    "sr-cards": _Key("sr_cards", "true or false", _is_bool),
}
_PATHS = {"vault", "output", "manifest"}


def is_question_format(text: str) -> bool:
    """Whether `text` names {heading}, and nothing but {title} and {heading}, as written: a
    format from someone else's settings file must not reach attributes (`{title.__class__}`)
    nor pad a question to gigabytes (`{heading:>2000000000}`), so no field takes a
    conversion or a format spec. Parsed, not tried: trying would be that allocation."""
    try:
        fields = [(name, spec, conversion) for _, name, spec, conversion
                  in string.Formatter().parse(text) if name is not None]
    except ValueError:  # a lone `{` or `}`
        return False
    return (all(name in ("title", "heading") and not spec and conversion is None
                for name, spec, conversion in fields)
            and any(name == "heading" for name, _, _ in fields))


def find_config(explicit: Path | None, vault: Path | None) -> Path | None:
    """`--config`, else `anki-export.toml` in the working folder, else in the vault. One found
    (not named) may be someone else's, as the vault may be, so it must lie in its folder, as
    the vault's notes must: a link out of it could read any file of the machine."""
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"config file {explicit} does not exist")
        return explicit
    for folder in (Path.cwd(), vault or Config().vault):
        found = folder / CONFIG_NAME
        if found.is_file():
            if not found.resolve().is_relative_to(folder.resolve()):
                raise ConfigError(f"links to {found.resolve()}, outside its folder: a settings "
                                  "file found there must lie in it; move the file in, or pass "
                                  "it with --config", path=found)
            return found
    return None


def load_config(path: Path | None, overrides: Mapping[str, Any], *,
                found: bool = False) -> Config:
    """Defaults, then the file at `path`, then `overrides` (command-line values; None = unset).
    A file `found` (not named with --config) may be someone else's: see `_confine`."""
    config = Config()
    given = {k: v for k, v in overrides.items() if v is not None}
    if path is not None:
        values = read_config_file(path)
        if found:
            _confine(path, {k: v for k, v in values.items() if k not in given})
        config = replace(config, **values)
    unknown = set(given) - {f.name for f in fields(Config)}
    if unknown:
        raise ValueError(f"not Config fields: {sorted(unknown)}")  # a programming error
    config = replace(config, **given)
    if config.package_name and takes_whole_collection(
            file_stem(config.package_name.removesuffix(".apkg"))):
        raise ConfigError(
            f"the package name {config.package_name!r} is one Anki desktop imports as a whole "
            "collection, replacing every card and review you have; choose another name with "
            "--package-name (or `package-name` in anki-export.toml)",
            path=path if "package_name" not in given else None)
    return replace(config, vault=_vault_folder(config.vault))


def _confine(path: Path, values: Mapping[str, Any]) -> None:
    """A settings file found in a vault or repository (someone else's, built by CI) may not
    point the build outside it: `vault = "/"` would read any image of the machine, `manifest =
    "../.git/hooks/pre-commit"` overwrite a file git runs, `manifest = "../../../.bashrc"`
    any file. Its paths must lie in its folder or that folder's parent (a vault's settings
    may put the package beside the vault, `output = "../built"`), outside hidden folders; the
    command line (or the file named with --config) may choose any."""
    top = path.parent.resolve().parent
    for key, spec in KEYS.items():
        if key in _PATHS and spec.field in values:
            real = Path(os.path.realpath(values[spec.field]))
            inside = real.is_relative_to(top) and not any(
                part.startswith(".") for part in real.relative_to(top).parts)
            if not inside:
                option = "the vault" if key == "vault" else f"--{key}"
                raise ConfigError(
                    f"'{key}' leads to {real}, outside {top} or into a hidden folder: a "
                    "settings file found in a vault or repository may not point there; give "
                    f"{option} on the command line (or this file with --config) to choose it",
                    path=path, line=_line_of(_read_toml(path)[0], key))


def _vault_folder(vault: Path) -> Path:
    """The folder holding the notes: a garden repository's `src/site/notes` when given its
    root; without a vault named anywhere (the default `notes` absent), the working folder's,
    if it is a garden repository."""
    if vault == Config().vault and not vault.is_dir() and garden_notes(Path()) != Path():
        vault = Path()
    return garden_notes(vault)


def read_config_file(path: Path) -> dict[str, Any]:
    """The file's settings as Config field values; paths relative to the file's folder."""
    text, data = _read_toml(path)
    values: dict[str, Any] = {}
    for key, value in data.items():
        spec = KEYS.get(key)
        if spec is None:
            import difflib  # only here: `--help` loads this module, and should start fast

            near = difflib.get_close_matches(key.replace("_", "-"), KEYS, n=1)
            hint = f"did you mean '{near[0]}'? " if near else ""
            raise ConfigError(f"unknown key '{key}'; {hint}the keys are: {', '.join(KEYS)}",
                              path=path, line=_line_of(text, key))
        if not spec.check(value):
            raise ConfigError(f"'{key}' must be {spec.kind}, not {value!r}", path=path,
                              line=_line_of(text, key))
        if key in _PATHS:
            value = path.parent / str(value)
        elif isinstance(value, list):
            value = tuple(value)
        elif isinstance(value, dict):  # folder → level, as pairs: a Config is frozen
            value = tuple(sorted((str(k).strip("/"), v) for k, v in value.items()))
        values[spec.field] = value
    if "vault" not in values and path.parent.resolve() != Path.cwd().resolve():
        values["vault"] = path.parent  # a config inside the vault describes that vault
    return values


def _read_toml(path: Path) -> tuple[str, dict[str, Any]]:
    """The file's text and its TOML; bounded, as the file may be someone else's."""
    import tomllib  # here: most vaults have no config file

    try:
        text = read_bounded(path, CONFIG_LIMIT).decode("utf-8")
        data = tomllib.loads(text)
    except TooLarge as e:
        raise ConfigError(f"{e}: not a settings file (`anki-export init` writes one of a few "
                          "lines)", path=path) from e
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read the config file ({e})", path=path) from e
    except tomllib.TOMLDecodeError as e:
        line = re.search(r"line (\d+)", str(e))
        raise ConfigError(f"not valid TOML: {e}", path=path,
                          line=int(line.group(1)) if line else None) from e
    except RecursionError as e:
        raise ConfigError("not valid TOML: nested too deeply", path=path) from e
    return text, data


def _line_of(text: str, key: str) -> int | None:
    """The line of `key = …`, or of the table `[key]`."""
    name = rf'"?{re.escape(key)}"?'
    match = re.search(rf"^\s*(?:{name}\s*=|\[\s*{name}\s*\])", text, flags=re.M)
    return text.count("\n", 0, match.start()) + 1 if match else None


STARTER_CONFIG = '''\
# anki-export settings. Every key is also a command-line option; the command line wins.
# Paths are relative to this file.

# The folder holding your notes (or your garden repository: its src/site/notes), and where
# the .apkg and its build manifest go.
vault = "{vault}"
output = "dist"

# Put every deck under one root deck (decks otherwise mirror your dg-path folders).
# deck = "Medicine"

# Only notes with `dg-publish: true`, as the Digital Garden publishes them.
published-only = true

# The heading level that starts a card: "auto" splits each note at the level its sections
# are at (`##` for most notes, `###` or `#` for notes organised under those); 2 makes each
# `##` section a card in every note. A note can choose its own with `anki-heading-level: 3`
# in its frontmatter, a folder with a line in the table below.
heading-level = "auto"

# The text before a note's first heading is a card whose question is the note's title
# ("card"), unless it is only links or empty; "skip" leaves it out.
intro = "card"

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

# Warn about answers longer than this many words (0: never).
max-answer-words = 300

# Warnings fail the build, as errors do.
strict = false

# Heading levels for the notes below some folders, where a vault mixes styles (the longest
# folder given wins over `heading-level`). A TOML table: keep it at the end of the file.
# [heading-level-by-folder]
# "Physics" = 1
# "Physics/Problems" = 3
'''
