"""Command line: options → `Config` → one library call → printed report and exit code.

The only module that prints or exits. Exit codes: 0 built, 1 content errors (or warnings with
--strict), 2 usage or configuration errors (Click's own convention). The library is imported
inside the commands so `--help` starts fast.
"""

from __future__ import annotations

import gc
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from . import __version__
from .cloze import MODES as CLOZE_MODES
from .config import (
    AUTO,
    CONFIG_NAME,
    INTRO_CHOICES,
    RENAMED_SUFFIX,
    SITE_URL_KIND,
    STARTER_CONFIG,
    Config,
    find_config,
    is_question_format,
    is_site_url,
    load_config,
    takes_whole_collection,
)
from .errors import AnkiExportError, BuildFailed, Diagnostic, Level

if TYPE_CHECKING:
    from .build import BuildResult
    from .collect import Progress
    from .manifest import Move

F = TypeVar("F", bound=Callable[..., Any])


def vault_options(command: F) -> F:
    """Options shared by `build`, `check` and `preview`: each is also a config file key."""
    options = [
        click.argument("vault", required=False,
                       type=click.Path(path_type=Path, file_okay=False)),
        click.option("-c", "--config", "config_file", type=click.Path(path_type=Path),
                     help=f"Settings file [default: ./{CONFIG_NAME}, else VAULT/{CONFIG_NAME}]."),
        click.option("-o", "--output", type=click.Path(path_type=Path, file_okay=False),
                     help="Folder the .apkg is written to [default: dist]."),
        click.option("--deck", "root_deck", help="Root deck that every folder deck goes under."),
        click.option("--all/--published-only", "all_notes", default=None,
                     help="Take every note, or only those with `dg-publish: true` (default)."),
        click.option("--heading-level", callback=_check_heading_level, metavar="1-6|auto",
                     help="Heading level that starts a card, in every note [default: auto: "
                          "each note's own; per folder: heading-level-by-folder]."),
        click.option("--intro", type=click.Choice(INTRO_CHOICES),
                     help="The text before a note's first heading: a card titled by the note, "
                          "or skipped [default: card]."),
        click.option("--skip-heading", "skipped_headings", multiple=True, metavar="TEXT",
                     help="A heading that gives no card; repeat it [default: Related, "
                          "References, See also, Sources, Links]."),
        click.option("--question-format", callback=_check_question_format,
                     help="The question, from {title} and {heading}."),
        click.option("--site-url", callback=_check_site_url,
                     help="Your garden's base URL: cards then link to its pages."),
        click.option("--tag", "tags", multiple=True, help="A tag for every card; repeat it."),
        click.option("--folder-tags/--no-folder-tags", default=None,
                     help="Also tag each card with its note's folder path."),
        click.option("--cloze", type=click.Choice(CLOZE_MODES),
                     help="Make each ==highlight== a cloze card, or hide a section's highlights "
                          "together on one card [default: off; per note: anki-cloze]."),
        click.option("--sr-cards/--no-sr-cards", default=None,
                     help="Cards in the Spaced Repetition plugin's syntax (`Q::A`, `?`, "
                          "clozes) in notes with its flashcard tag [default: on]."),
        click.option("--manifest", type=click.Path(path_type=Path, dir_okay=False),
                     help="Build manifest [default: OUTPUT/anki-export.lock]."),
        click.option("--max-answer-words", type=click.IntRange(0), metavar="N",
                     help="Warn about answers of more words [default: 300; 0: never]."),
        click.option("--strict/--no-strict", default=None, help="Fail on warnings too."),
        click.option("--keep-going/--no-keep-going", default=None,
                     help="Skip notes with errors instead of failing."),
        click.option("-q", "--quiet", is_flag=True, help="Print only errors and the summary."),
        click.option("-v", "--verbose", is_flag=True, help="Also print notes' skipped sections."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _check_question_format(ctx: click.Context, param: click.Parameter,
                           value: str | None) -> str | None:
    if value is not None and not is_question_format(value):
        raise click.BadParameter("must contain {heading}, and no placeholder but {title} and "
                                 "{heading} (write {{ and }} for literal braces)")
    return value


def _check_heading_level(ctx: click.Context, param: click.Parameter,
                         value: str | None) -> int | str | None:
    if value is None or value == AUTO:
        return value
    if value.isdigit() and 1 <= int(value) <= 6:
        return int(value)
    raise click.BadParameter("must be a number from 1 to 6, or auto")


def _check_site_url(ctx: click.Context, param: click.Parameter,
                    value: str | None) -> str | None:
    if value is not None and not is_site_url(value):
        raise click.BadParameter(f"must be {SITE_URL_KIND}")
    return value


def _config(params: dict[str, Any]) -> Config:
    """Defaults < config file < command line; raises ConfigError for a bad file."""
    vault = params.pop("vault")
    named = params.pop("config_file")
    path = find_config(named, vault)
    all_notes = params.pop("all_notes")
    for key in ("quiet", "verbose"):
        params.pop(key, None)
    overrides: dict[str, Any] = {
        **params, "vault": vault,
        "published_only": None if all_notes is None else not all_notes,
        "skipped_headings": params["skipped_headings"] or None,
        "tags": params["tags"] or None,
        # A level given here is every note's: the file's levels by folder give way to it.
        "heading_level_by_folder": None if params["heading_level"] is None else (),
    }
    return load_config(path, overrides, found=named is None)


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, epilog="""\b
Examples:
  anki-export build ~/garden             # published notes → dist/garden.apkg
  anki-export check ~/garden             # every problem, as path:line lines
  anki-export build --help               # every option of a command
""")
@click.version_option(__version__, prog_name="anki-export")
def cli() -> None:
    """Turn a vault of Markdown notes (Obsidian, Digital Garden) into Anki decks.

    Every section of a note becomes a card whose ID comes from the note's permalink, so
    re-importing a rebuilt package updates your cards instead of duplicating them.
    """


@cli.command(epilog="""\b
Examples:
  anki-export build                      # notes/ → dist/notes.apkg
  anki-export build ~/garden -o decks --deck Radiology
  anki-export build --all --heading-level 3 --split
""")
@vault_options
@click.option("--split/--no-split", default=None,
              help="One package per top-level deck instead of one for the vault.")
@click.option("--package-name", help="File name of the package [default: root deck or vault].")
@click.option("--report", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write what the build did as JSON to this file.")
@click.option("--no-wait", is_flag=True,
              help="Fail at once if another build of the output folder is running, instead "
                   "of waiting for it.")
@click.option("--explain", is_flag=True,
              help="Also say what the build reuses of the last one, and why.")
@click.option("--no-cache", is_flag=True,
              help="Build from scratch: read nothing the last build left in the cache.")
def build(report: Path | None, quiet: bool, verbose: bool, no_wait: bool, explain: bool,
          no_cache: bool, **params: Any) -> None:
    """Build the notes in VAULT (default: notes/) into an Anki package."""
    from .build import build as run_build

    with _reporting():
        config = _config(dict(params, quiet=quiet, verbose=verbose))

        def waiting() -> None:
            click.echo(f"another build of {config.output} is running; waiting…", err=True)

        try:
            with _progress_bar(quiet) as progress:
                result = run_build(config, progress=progress, wait=not no_wait,
                                   on_wait=waiting, fresh=no_cache)
        except BuildFailed as e:
            _print_diagnostics(e.diagnostics, config.vault, quiet=quiet, verbose=verbose)
            raise
        _print_diagnostics(result.diagnostics, config.vault, quiet=quiet, verbose=verbose)
        if explain and result.plan is not None:
            click.echo(result.plan.explain())
        if verbose:
            for note in result.notes:
                if note.skipped:
                    where = (config.vault / note.path).as_posix()
                    click.echo(f"{where}: no card for {', '.join(note.skipped)}", err=True)
        _print_summary(result, config, quiet=quiet, verbose=verbose)
        if report is not None:
            _write_report(report, result)


@cli.command(short_help="Report every problem `build` would, writing nothing.", epilog="""\b
Examples:
  anki-export check                      # problems in notes/, as path:line: level: message
  anki-export check ~/garden --strict --format json
""")
@vault_options
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Lines for people and editors, or JSON for tools.")
def check(output_format: str, quiet: bool, verbose: bool, **params: Any) -> None:
    """Report everything `build` would complain about in VAULT, without writing anything."""
    from .build import build as run_build

    with _reporting(as_json=output_format == "json"):
        config = _config(dict(params, quiet=quiet, verbose=verbose))
        try:
            result = run_build(config, write=False)
        except BuildFailed as e:
            _print_check(e.diagnostics, config, output_format, cards=None, verbose=verbose)
            raise click.exceptions.Exit(1) from e
        _print_check(result.diagnostics, config, output_format, cards=result.cards,
                     verbose=verbose)


@cli.command(epilog="""\b
Examples:
  anki-export init                       # ./anki-export.toml for notes/ (or this garden repo)
  anki-export init ~/garden/notes
""")
@click.argument("vault", type=click.Path(path_type=Path, file_okay=False), required=False)
@click.option("--force", is_flag=True, help="Replace an existing config file.")
def init(vault: Path | None, force: bool) -> None:
    """Write a commented starter anki-export.toml in the working folder."""
    from .vault import garden_notes

    target = Path(CONFIG_NAME)
    if target.exists() and not force:
        click.echo(f"Error: {target} exists already; use --force to replace it", err=True)
        raise click.exceptions.Exit(1)
    if vault is None:  # as `build` finds it: notes/, else the garden repository it runs in
        vault = Config().vault
        if not vault.is_dir() and garden_notes(Path()) != Path():
            vault = Path()
    target.write_text(STARTER_CONFIG.format(vault=vault.as_posix()), encoding="utf-8")
    click.echo(f"Wrote {target}: edit it, then run `anki-export build`")


@contextmanager
def _reporting(as_json: bool = False) -> Iterator[None]:
    """Map the library's one exception hierarchy to messages and exit codes (pypa/build)."""
    try:
        yield
    except AnkiExportError as e:
        message = json.dumps({"error": str(e)}) if as_json else _styled(f"Error: {e}", "red")
        click.echo(message, err=not as_json)
        raise click.exceptions.Exit(e.exit_code) from e


@contextmanager
def _progress_bar(quiet: bool) -> Iterator[Progress | None]:
    """A progress bar on a terminal for big vaults; none in CI, when piped, or with -q."""
    if quiet or os.environ.get("CI") or not sys.stderr.isatty():
        yield None
        return
    bar: Any = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None and total >= 200:
            bar = click.progressbar(length=total, label="Rendering notes", file=sys.stderr,
                                    show_pos=True).__enter__()
        if bar is not None:
            bar.update(done - bar.pos)

    try:
        yield update
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)


def _color() -> bool | None:
    return False if os.environ.get("NO_COLOR") else None  # None: Click colours TTYs only


def _styled(text: str, color: str) -> str:
    return click.style(text, fg=color) if _color() is None else text


_LEVEL_COLORS = {Level.ERROR: "red", Level.WARNING: "yellow", Level.INFO: "blue"}
SHOWN_PER_CODE = 10
"""Warnings of one code printed without -v: a garden's hundreds of one warning would drown
every other line."""


def _print_diagnostics(diagnostics: tuple[Diagnostic, ...], vault: Path | None, *,
                       quiet: bool, verbose: bool, err: bool = True) -> None:
    shown = {Level.ERROR} if quiet else {Level.ERROR, Level.WARNING}
    if verbose:
        shown.add(Level.INFO)
    warned: dict[str, int] = {}  # warnings of each code: past SHOWN_PER_CODE, only counted
    for d in diagnostics:
        if d.level is Level.WARNING and not verbose:
            warned[d.code] = warned.get(d.code, 0) + 1
            if warned[d.code] > SHOWN_PER_CODE:
                continue
        if d.level in shown:
            click.echo(_styled(d.format(vault), _LEVEL_COLORS[d.level]), err=err,
                       color=_color())
    for code, count in warned.items():
        if count > SHOWN_PER_CODE and Level.WARNING in shown:
            click.echo(_styled(f"... and {count - SHOWN_PER_CODE} more {code} warnings (-v "
                               "lists them all)", _LEVEL_COLORS[Level.WARNING]),
                       err=err, color=_color())


def _print_summary(result: BuildResult, config: Config, *, quiet: bool = False,
                   verbose: bool = False) -> None:
    where = ", ".join(str(p) for p in result.packages)
    if result.up_to_date:
        click.echo(f"Nothing changed since the last build: {where} is current "
                   f"({result.note_count} notes, {result.cards} cards)")
    elif not result.packages:
        click.echo(f"Read {_count(result.note_count, 'note')}: no cards, nothing written")
    else:
        click.echo(f"Read {_count(result.note_count, 'note')}, wrote "
                   f"{_count(result.cards, 'card')} in {_count(result.decks, 'deck')} to {where}")
    _print_renamed(result.packages, config)
    if result.changes is not None:
        c = result.changes
        live = len(c.added) + len(c.changed) + c.unchanged
        # Anki's import counts notes, and so do these; say so where they are not the cards.
        unit = "" if live == result.cards else (
            f" (Anki notes, {live} in all: a cloze or reversed note holds several cards)")
        click.echo(f"Since the last build: {len(c.added)} added, {len(c.changed)} changed, "
                   f"{len(c.removed)} removed, {c.unchanged} unchanged{unit}")
        if c.removed:
            click.echo("Removed sections are shipped tagged anki-export::removed: search "
                       "`tag:anki-export::removed` in Anki to delete their cards")
        if c.emptied:
            count = sum(len(numbers) for _, numbers in c.emptied)
            which = "1 cloze card is" if count == 1 else f"{count} cloze cards are"
            click.echo(f"{which} empty now, their cloze removed from the notes (in Anki, "
                       "Tools → Empty Cards deletes them):")
            for key, numbers in c.emptied:
                click.echo(f"  {key}: {', '.join(f'c{n}' for n in numbers)}")
        _print_moves(c.moved, verbose)
    _print_notes_without_cards(result, config, quiet=quiet)
    if result.notes_left_out:
        hint = "; use --all to include them" if config.published_only else ""
        click.echo(f"{_count(result.notes_left_out, 'note')} left out: no `dg-publish: true`, or "
                   f"`anki: false`{hint}")


SHOWN_NAVIGATION = 3
"""Navigation pages named in the summary (a garden has a home page, a few indexes)."""


def _print_notes_without_cards(result: BuildResult, config: Config, *, quiet: bool) -> None:
    """Count the notes that gave no card: those a warning explains apart from navigation pages
    (a home page, a list of links), which give none by design and are said at info level only,
    so the summary never points at warnings that were not printed."""
    navigation = {d.path.as_posix() for d in result.diagnostics
                  if d.code == "no-cards" and d.level is Level.INFO and d.path is not None}
    empty = [n.path.as_posix() for n in result.notes if not n.cards]
    pages = [path for path in empty if path in navigation]
    unexplained = len(empty) - len(pages)
    if unexplained:
        why = "`anki-export check` says why" if quiet else "the warnings above say why"
        click.echo(f"{_count(unexplained, 'note')} gave no card ({why}; --heading-level "
                   "changes the section level)")
    if pages:
        names = ", ".join((config.vault / path).as_posix() for path in pages[:SHOWN_NAVIGATION])
        if len(pages) > SHOWN_NAVIGATION:
            names += f" and {len(pages) - SHOWN_NAVIGATION} more (-v lists them)"
        which = "1 navigation page" if len(pages) == 1 else f"{len(pages)} navigation pages"
        click.echo(f"{which} (a home page, or only links) gave no card, as meant: {names}")


SHOWN_MOVES = 5
"""Moves listed without `-v` (a new root deck moves every deck's cards)."""


def _print_moves(moves: tuple[Move, ...], verbose: bool) -> None:
    """Which cards changed deck, and the search that finds them in Anki, where the user must
    move them: Anki's import never moves a card (README, "Moving notes")."""
    if not moves:
        return
    notes = sum(len(move.sources) for move in moves)
    click.echo(f"The cards of {_count(notes, 'note')} changed deck since the last build; Anki's "
               "import never moves a card, so after importing, move them in Anki: Browse, paste "
               "the search, select all (Ctrl+A), Change Deck (Ctrl+D) to the deck named:")
    for move in moves if verbose else moves[:SHOWN_MOVES]:
        files = ", ".join(move.sources[:SHOWN_MOVES])
        more = len(move.sources) - SHOWN_MOVES
        if more > 0 and not verbose:
            files += f" and {more} more"
        elif more > 0:
            files = ", ".join(move.sources)
        click.echo(f"  {move.old} → {move.new} ({files}): {move.search}")
    if len(moves) > SHOWN_MOVES and not verbose:
        click.echo(f"  and {len(moves) - SHOWN_MOVES} more decks (-v lists them all)")


def _print_renamed(packages: tuple[Path, ...], config: Config) -> None:
    """Say so where a package is not named after its deck or vault, as Anki would have taken
    that name for a whole collection (`config.package_stem`)."""
    for path in packages:
        meant = path.stem.removesuffix(RENAMED_SUFFIX)
        if config.package_name is None and meant != path.stem and takes_whole_collection(meant):
            click.echo(f"Named {path.name}, not {meant}.apkg: Anki imports a file of that name "
                       "as a whole collection, replacing yours (--package-name chooses another)")


def _count(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _print_check(diagnostics: tuple[Diagnostic, ...], config: Config, output_format: str,
                 cards: int | None, *, verbose: bool = False) -> None:
    counts = {level: sum(d.level is level for d in diagnostics) for level in Level}
    failed = counts[Level.ERROR] > 0 or (config.strict and counts[Level.WARNING] > 0)
    if output_format == "json":
        findings = [dict(asdict(d), path=d.display_path(config.vault), level=d.level.value,
                         message=d.text(config.vault),
                         related=[(config.vault / r).as_posix() for r in d.related])
                    for d in diagnostics]
        click.echo(json.dumps({"findings": findings, "errors": counts[Level.ERROR],
                               "warnings": counts[Level.WARNING], "cards": cards,
                               "ok": not failed}, indent=2))
    else:
        _print_diagnostics(diagnostics, config.vault, quiet=False, verbose=verbose, err=False)
        click.echo(f"{_count(counts[Level.ERROR], 'error')}, "
                   f"{_count(counts[Level.WARNING], 'warning')}"
                   + (f", {_count(cards, 'card')}" if cards is not None else ""))
    if failed:
        raise click.exceptions.Exit(1)


def _write_report(path: Path, result: BuildResult) -> None:
    changes = result.changes
    report = {
        "packages": [str(p) for p in result.packages],
        "up_to_date": result.up_to_date,  # nothing changed: no per-note detail, no changes
        "counts": {"notes": result.note_count, "cards": result.cards, "decks": result.decks,
                   "notes_left_out": result.notes_left_out,
                   "notes_without_cards": result.notes_without_cards},
        "notes": [{"path": n.path.as_posix(), "title": n.title, "cards": n.cards,
                   "skipped": list(n.skipped)} for n in result.notes],
        "diagnostics": [dict(asdict(d), path=d.path.as_posix() if d.path else None,
                             level=d.level.value, message=d.text(),
                             related=[r.as_posix() for r in d.related])
                        for d in result.diagnostics],
        "changes": None if changes is None else {
            "added": list(changes.added), "changed": list(changes.changed),
            "removed": list(changes.removed), "unchanged": changes.unchanged,
            "emptied_clozes": [{"card": key, "clozes": list(numbers)}
                               for key, numbers in changes.emptied],
            "moved": [asdict(move) for move in changes.moved]},
    }
    try:
        path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n",
                        encoding="utf-8")
    except OSError as e:
        raise AnkiExportError(f"cannot write the report ({e.strerror})", path=path) from e


@cli.command(short_help="Write every card, front and back, to one page.", epilog="""\b
Examples:
  anki-export preview                    # notes/ → dist/preview.html
  anki-export preview ~/garden -o /tmp/look.html --all
""")
@vault_options
def preview(quiet: bool, verbose: bool, **params: Any) -> None:
    """Write every card of VAULT, front and back, to one page for a browser.

    The page is OUTPUT/preview.html, or OUTPUT itself when it ends in .html.
    """
    from .preview import write_preview

    with _reporting():
        config = _config(dict(params, quiet=quiet, verbose=verbose))
        result = write_preview(config)
        _print_diagnostics(result.diagnostics, config.vault, quiet=quiet, verbose=verbose)
        click.echo(f"Wrote {result.cards} cards to {result.page}: open it in a browser")


def main() -> None:
    """The `anki-export` command: `cli` with Python's cycle collector off all along, as the
    build turns it off anyway (see `build._no_cycle_collection`, and README, "Process-wide
    tricks"): it would only walk the modules as they load. The process ends right after, so
    it is not turned back on."""
    gc.disable()
    cli()
