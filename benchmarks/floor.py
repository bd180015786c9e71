#!/usr/bin/env python3
"""The floor: the least work any vault → .apkg tool must do. A lower bound, not a tool.

    python benchmarks/floor.py VAULT OUT.apkg [--parser pyromark|markdown-it] [--intro]

Steps, each timed and printed as one JSON line at the end:
  read         every *.md below VAULT (sorted walk, hidden folders skipped), UTF-8
  frontmatter  the '---' block: json.loads for the one-line JSON form, else PyYAML's C loader
  split        the body into sections at each note's level (`##`; `#` where there are several;
               else the highest there is), a line scan that skips fenced code; with --intro
               the text before the first heading too
  render       each section body to HTML: pyromark (pulldown-cmark, with tables, strikethrough
               and math) or markdown-it-py (commonmark + table + strikethrough)
  build        genanki objects: one deck per folder, one note per section
  write        the .apkg, with the decks and models JSON written once (genanki 0.13's own
               Package.write_to_db rewrites both for every deck: quadratic in decks), the
               SQLite journal and fsyncs off (the database is a temporary file), zip stored

Nothing else: no wiki-links, media, sanitising, identities, manifest or checks.
Needs genanki, pyyaml and the chosen parser.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import re
import sqlite3
import sys
import tempfile
import time
import zipfile

START = time.perf_counter()
import genanki  # noqa: E402
import yaml  # noqa: E402

IMPORTS = time.perf_counter() - START
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def renderer(parser: str):
    if parser == "pyromark":
        import pyromark

        o = pyromark.Options
        flags = o.ENABLE_TABLES | o.ENABLE_STRIKETHROUGH | o.ENABLE_MATH
        to_html = pyromark.html
        return lambda md: to_html(md, options=flags)
    if parser == "markdown-it":
        from markdown_it import MarkdownIt

        return MarkdownIt("commonmark").enable(["table", "strikethrough"]).render
    raise SystemExit(f"floor: unknown parser {parser!r}")


def read_vault(root: str) -> list[tuple[str, str]]:
    out = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.endswith(".md"):
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8") as f:
                    out.append((os.path.relpath(path, root), f.read()))
    return out


def frontmatter(text: str) -> tuple[dict, str]:
    if not text.startswith("---\n"):
        return {}, text
    end = text.find("\n---\n", 3)
    if end < 0:
        return {}, text
    block, body = text[4:end], text[end + 5:]
    if block.startswith("{") and "\n" not in block:
        meta = json.loads(block.replace("\\|", "|"))
    else:
        meta = yaml.load(block, Loader=LOADER)
    return (meta if isinstance(meta, dict) else {}), body


_HEADING = re.compile(r"(#{1,6})[ \t]+(.*)")


def sections(body: str, intro: str | None = None) -> list[tuple[str, str]]:
    """(heading, markdown) of each section: at `#` where the note has several, else at `##`
    where it has any, else at its highest level (a lone opening `# Title` is no section), as
    anki-export's `auto` level reads a note. With `intro` (the note's title), the text before
    the first section is a section too, when it is not blank."""
    lines = body.split("\n")
    heads: list[tuple[int, int, str]] = []  # (line, level, text), outside fenced code
    fence = ""
    for n, line in enumerate(lines):
        s = line.lstrip()
        if s.startswith(("```", "~~~")):
            if not fence:
                fence = s[:3]
            elif s.startswith(fence):
                fence = ""
        elif not fence and line.startswith("#"):
            m = _HEADING.fullmatch(line)
            if m:
                heads.append((n, len(m.group(1)), m.group(2).strip()))
    title = None
    if (heads and heads[0][1] == 1 and sum(h[1] == 1 for h in heads) == 1
            and not any(x.strip() for x in lines[:heads[0][0]])):
        title = heads.pop(0)
    levels = [h[1] for h in heads]
    level = 1 if levels.count(1) > 1 else 2 if 2 in levels else min(levels, default=2)
    cuts = [h for h in heads if h[1] <= level]
    found: list[tuple[str, str]] = []
    start = title[0] + 1 if title else 0
    if intro is not None:
        text = "\n".join(lines[start:cuts[0][0] if cuts else len(lines)])
        if text.strip():
            found.append((intro, text))
    for k, (n, lvl, text) in enumerate(cuts):
        if lvl == level:
            end = cuts[k + 1][0] if k + 1 < len(cuts) else len(lines)
            found.append((text, "\n".join(lines[n + 1:end])))
    return found


def small_id(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:6], "big") + (1 << 40)


MODEL = genanki.Model(
    small_id("floor model"), "floor basic",
    fields=[{"name": "Question"}, {"name": "Answer"}],
    templates=[{"name": "Card 1", "qfmt": "{{Question}}",
                "afmt": "{{FrontSide}}<hr id=answer>{{Answer}}"}],
)


class OnePassPackage(genanki.Package):
    """genanki.Package whose collection JSON (decks, models) is read and written once."""

    def write_to_db(self, cursor, timestamp, id_gen):
        from genanki.apkg_col import APKG_COL
        from genanki.apkg_schema import APKG_SCHEMA

        cursor.executescript(APKG_SCHEMA)
        cursor.executescript(APKG_COL)
        decks_json, models_json = cursor.execute("SELECT decks, models FROM col").fetchone()
        decks, models = json.loads(decks_json), json.loads(models_json)
        for deck in self.decks:
            decks[str(deck.deck_id)] = deck.to_json()
            for note in deck.notes:
                models.setdefault(str(note.model.model_id),
                                  note.model.to_json(timestamp, deck.deck_id))
        cursor.execute("UPDATE col SET decks = ?, models = ?",
                       (json.dumps(decks), json.dumps(models)))
        for deck in self.decks:
            for note in deck.notes:
                note.write_to_db(cursor, timestamp, deck.deck_id, id_gen)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Lower-bound vault → .apkg build (not a tool).")
    ap.add_argument("vault")
    ap.add_argument("out")
    ap.add_argument("--parser", choices=["pyromark", "markdown-it"], default="pyromark")
    ap.add_argument("--intro", action="store_true",
                    help="the text before a note's first section is a card, as in anki-export")
    args = ap.parse_args(argv)
    t: dict[str, float] = {"imports": IMPORTS}

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        t[name] = now - since
        return now

    mark = time.perf_counter()
    render = renderer(args.parser)
    mark = lap("import_parser", mark)
    files = read_vault(args.vault)
    n_notes = len(files)
    mark = lap("read", mark)
    docs = [(rel, *frontmatter(text)) for rel, text in files]
    del files
    mark = lap("frontmatter", mark)
    secs = []  # (folder, permalink, heading, markdown)
    for rel, meta, body in docs:
        folder = os.path.dirname(rel) or "root"
        permalink = meta.get("permalink") or "/" + rel[:-3] + "/"
        title = os.path.basename(rel)[:-3]
        secs += [(folder, permalink, h, md)
                 for h, md in sections(body, title if args.intro else None)]
    del docs
    mark = lap("split", mark)
    cards = [(f, p, h, render(md)) for f, p, h, md in secs]
    del secs
    mark = lap("render", mark)
    decks: dict[str, genanki.Deck] = {}
    for folder, permalink, heading, html in cards:
        deck = decks.get(folder)
        if deck is None:
            name = "::".join(folder.split(os.sep))
            deck = decks[folder] = genanki.Deck(small_id(name), name)
        deck.add_note(genanki.Note(model=MODEL, fields=[heading, html],
                                   guid=genanki.guid_for(permalink, heading)))
    mark = lap("build", mark)
    fd, db_path = tempfile.mkstemp(suffix=".anki2")
    os.close(fd)
    try:
        db = sqlite3.connect(db_path)
        db.executescript("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;")  # no fsyncs
        now = time.time()
        OnePassPackage(list(decks.values())).write_to_db(db.cursor(), now,
                                                         itertools.count(int(now * 1000)))
        db.commit()
        db.close()
        with zipfile.ZipFile(args.out, "w") as z:  # stored, as genanki writes it
            z.write(db_path, "collection.anki2")
            z.writestr("media", "{}")
    finally:
        os.unlink(db_path)
    lap("write", mark)
    t["total_in_process"] = time.perf_counter() - START
    print(json.dumps({"parser": args.parser, "notes": n_notes,
                      "cards": len(cards), "decks": len(decks),
                      **{k + "_s": round(v, 4) for k, v in t.items()}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
