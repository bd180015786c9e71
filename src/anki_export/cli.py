"""Command line: options → `Config` → one library call → printed report and exit code.

The only module that prints or exits. Exit codes: 0 built, 1 content errors (or warnings with
--strict), 2 usage or configuration errors (Click's own convention).
"""

from __future__ import annotations

from pathlib import Path

import click

from . import __version__
from .config import DEFAULT_SKIPPED_HEADINGS, Config
from .errors import AnkiExportError, BuildFailed, Diagnostic, Level

EPILOG_BUILD = """\b
Examples:
  anki-export build                      # notes/ → dist/notes.apkg
  anki-export build ~/garden -o decks --deck Radiology
  anki-export build --all --heading-level 3
"""


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="anki-export")
def cli() -> None:
    """Turn a vault of Markdown notes (Obsidian, Digital Garden) into Anki decks.

    Every section of a note becomes a card whose ID comes from the note's permalink, so
    re-importing a rebuilt package updates your cards instead of duplicating them.
    """


@cli.command(epilog=EPILOG_BUILD)
@click.argument("vault", type=click.Path(path_type=Path, file_okay=False), default="notes")
@click.option("-o", "--output", type=click.Path(path_type=Path, file_okay=False), default="dist",
              show_default=True, help="Folder the .apkg is written to.")
@click.option("--deck", "root_deck", help="Root deck that every folder deck goes under.")
@click.option("--all", "all_notes", is_flag=True,
              help="Take every note, not only those with `dg-publish: true`.")
@click.option("--heading-level", type=click.IntRange(1, 6), default=2, show_default=True,
              help="Heading level that starts a card (per note: `anki-heading-level`).")
@click.option("--skip-heading", "skipped", multiple=True, metavar="TEXT",
              help="Heading that gives no card; repeat it. Default: "
              f"{', '.join(DEFAULT_SKIPPED_HEADINGS)}.")
@click.option("--question-format", default="{title} — {heading}", show_default=True,
              help="The card's question, from {title} and {heading}.")
@click.option("--site-url", help="Your garden's base URL; cards then link to their pages.")
@click.option("--manifest", type=click.Path(path_type=Path, dir_okay=False),
              help="Build manifest to read and update [default: OUTPUT/anki-export.lock].")
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
@click.option("--keep-going", is_flag=True, help="Skip notes with errors instead of failing.")
def build(vault: Path, output: Path, root_deck: str | None, all_notes: bool, heading_level: int,
          skipped: tuple[str, ...], question_format: str, site_url: str | None,
          manifest: Path | None, strict: bool, keep_going: bool) -> None:
    """Build the notes in VAULT (default: notes/) into an Anki package."""
    from .build import build as run_build

    config = Config(vault=vault, output=output, root_deck=root_deck, published_only=not all_notes,
                    heading_level=heading_level,
                    skipped_headings=skipped or DEFAULT_SKIPPED_HEADINGS,
                    question_format=question_format, site_url=site_url, manifest=manifest,
                    strict=strict, keep_going=keep_going)
    try:
        result = run_build(config)
    except BuildFailed as e:
        _print_diagnostics(e.diagnostics)
        raise _exit(e) from e
    except AnkiExportError as e:
        raise _exit(e) from e
    _print_diagnostics(result.diagnostics)
    summary = (f"Read {result.notes_read} notes, wrote {result.cards} cards in "
               f"{result.decks} decks to {result.package}")
    if result.package is None:
        summary = f"Read {result.notes_read} notes: no cards, nothing written"
    click.echo(summary)
    if result.changes is not None:
        c = result.changes
        click.echo(f"Since the last build: {len(c.added)} added, {len(c.changed)} changed, "
                   f"{len(c.removed)} removed, {c.unchanged} unchanged")
    if result.notes_without_cards:
        click.echo(f"{result.notes_without_cards} notes gave no card (see the warnings above "
                   "for why; --heading-level changes the section level)")
    if result.notes_unpublished:
        click.echo(f"{result.notes_unpublished} notes left out because they lack "
                   "`dg-publish: true`; use --all to include them")


def _print_diagnostics(diagnostics: tuple[Diagnostic, ...]) -> None:
    for d in diagnostics:
        if d.level is not Level.INFO:
            click.echo(str(d), err=True)


def _exit(error: AnkiExportError) -> click.exceptions.Exit:
    click.echo(f"Error: {error}", err=True)
    return click.exceptions.Exit(error.exit_code)
