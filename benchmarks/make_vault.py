#!/usr/bin/env python3
"""Write a Digital Garden vault for the anki-export benchmark.

    python benchmarks/make_vault.py OUT --notes N [--seed S] [--style realistic|synthetic]
        [--form garden|mdankideck] [--stats]

Standard library only. The files written are a pure function of (N, seed, style, form): two
runs give byte-identical vaults, so figures measured on different days compare.

--style realistic (default): notes with the constructs of real gardens in at least their real
  shares (measured on 931 real notes; issue 22): wiki-links in 40% of notes, callouts 24%,
  math 30% (inline `$…$`, `$$` blocks, one with a blank line inside, `$$…$$` within a line),
  embeds 10% (`![[Note]]`, `![[Note#Heading]]`, `![[x.png|300]]`), fenced code 8%, tables 4%,
  plus footnotes (`[^1]`, `^[…]`), task lists, highlights, `%%comments%%`, raw HTML (`<br>`,
  `<sup>`, `<details>`), `(key:: value)` fields, inline tags, block ids, notes organised under
  several `#` or under `###` only, intros before the first heading, and a share of notes in
  the plugin's published form (one-line JSON frontmatter, `{ #id}` lines, `/img/user/…`
  images, transclusions inlined as HTML). A note gets each construct with its own chance;
  the rest of its text is plain lists and paragraphs. `--stats` prints the share of notes
  holding each construct, found by regular expressions in the files written.

--style synthetic: the vaults of the figures before issue 22 (byte for byte), whose sections
  all take anki-export's pulldown fast path:

--form garden (default): the vault as the Obsidian Digital Garden plugin publishes it —
  * a one-line JSON frontmatter {"dg-publish":true,"dg-path":...,"permalink":...}; about one
    note in ten has block YAML instead (with a `tags:` list), another tenth a JSON "tags" array;
  * a lead paragraph (not a card), then 4-9 `##` sections: bulleted and numbered lists nested
    with tabs or with 4 spaces, **bold**/_italic_, wiki-links to other generated notes in every
    form the plugin writes ([[path\\|alias]], [[path|alias]], [[Note]], [[Note#Heading]]),
    blockquotes, callouts (> [!tip]), a few GFM tables, $inline$ and $$block$$ math, fenced
    code, ![[figure.png]] embeds of small PNGs kept in attachments/, inline #tags, some `###`
    subsections, some question headings, and now and then a "Related" section;
  * a folder tree mirroring dg-path, about one folder (deck) per three notes.

--form mdankideck: the same notes, sections and answers in the input style of markdown-anki-decks
  (`mdankideck IN OUT`): `# Title` then `## question` + answer; wiki-links become plain
  Markdown links to the target's permalink, callouts plain blockquotes, embeds ![alt](x.png)
  with the PNG written next to the note (the only place that tool looks). The frontmatter is
  kept, since that tool reads it too. Titles are unique, so file stems are (it names each
  output package after the stem). Realistic notes' sections become `##` sections whatever
  their level in the garden; Obsidian-only syntax the peer cannot read (comments, block ids,
  embeds of notes) becomes nothing or a link.

Prints one summary line: notes, sections, decks (folders holding notes), images, bytes.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import struct
import sys
import zlib
from dataclasses import dataclass, field

# ---------------------------------------------------------------- vocabulary (written for this)

SUBJECTS = [("Medicine", 5), ("Pharmacology", 3), ("Microbiology", 2), ("Physiology", 2),
            ("Anatomy", 1), ("Surgery", 1)]
ORGANS = ["Heart", "Lungs", "Kidney", "Liver", "Brain", "Blood", "Gut", "Skin", "Bones",
          "Joints", "Eye", "Endocrine", "Immune", "Vessels", "Pancreas", "Thyroid"]
TOPICS = ["Basics", "Disorders", "Drugs", "Infections", "Tumours", "Trauma", "Genetics",
          "Imaging", "Lab tests", "Procedures", "Emergencies", "Development", "Histology",
          "Metabolism", "Syndromes", "Toxicology", "Screening", "Complications", "Signs",
          "Paediatrics", "Ageing", "Pregnancy", "Nutrition", "Rare conditions"]
GROUP_ADJ = ["Acute", "Chronic", "Inherited", "Acquired", "Benign", "Malignant", "Common",
             "Focal", "Diffuse", "Early", "Late", "Primary", "Secondary", "Severe"]
GROUP_NOUN = ["conditions", "patterns", "agents", "findings", "classes", "causes", "states",
              "presentations"]

SYL_START = ["ar", "bel", "cor", "dra", "el", "fen", "gal", "hy", "ix", "jor", "kal", "lu",
             "mer", "nor", "ost", "pra", "quin", "ros", "sar", "tem", "ul", "ver", "zan", "thal"]
SYL_MID = ["a", "e", "i", "o", "u", "ano", "ero", "ila", "oxa", "uri", "ema", "ito", "ava"]
SYL_END = ["itis", "oma", "osis", "emia", "algia", "uria", "pathy", "cytosis", "plasia",
           "ectasia", "ase", "ine", "azole", "olol", "pril", "mab", "cillin", "statin",
           "tropin", "genesis", "lysis", "megaly"]
TITLE_FRONT = ["Acute", "Chronic", "Late-onset", "Hereditary", "Drug-induced", "Post-viral",
               "Silent", "Migratory", "Ischaemic", "Obstructive", "Autoimmune", "Neonatal",
               "Refractory", "Nodular", "Erosive", "Cystic", "Toxic", "Transient"]
TITLE_BACK = ["syndrome", "disease", "deficiency", "crisis", "reflex", "sign", "test",
              "score", "pathway", "receptor", "complex", "fracture", "block", "shunt",
              "neuropathy", "myopathy", "storm", "triad"]
EPONYMS = ["Hartwell", "Okonkwo", "Lindqvist", "Marchetti", "Tanaka", "Brennan", "Ivanova",
           "Desrosiers", "Achterberg", "Nakamura", "Falkner", "Oyelaran", "Quist", "Rosales"]

HEADINGS = ["Definition", "Key facts", "Mechanism", "Causes", "Risk factors", "Presentation",
            "Examination", "Workup", "Lab findings", "Imaging", "Differential diagnosis",
            "Management", "First-line treatment", "Complications", "Prognosis", "Mnemonic",
            "Pitfalls", "Epidemiology", "Pathophysiology", "Histology", "Staging",
            "Monitoring", "Adverse effects", "Interactions", "Contraindications", "Dosing"]
QUESTION_HEADINGS = ["Why does it recur?", "How is it confirmed?", "What is the classic triad?",
                     "When is surgery indicated?", "Which drug is first-line?",
                     "What is the key lab finding?"]
SUB_HEADINGS = ["In children", "In pregnancy", "Red flags", "Exam tip", "Evidence",
                "Special cases", "Follow-up"]

NOUNS = ["membrane", "receptor", "enzyme", "pressure", "volume", "gradient", "clearance",
         "infiltrate", "plaque", "nodule", "effusion", "fibre", "channel", "antibody",
         "reserve", "output", "tone", "threshold", "cascade", "deposit", "lumen", "wall",
         "marker", "titre", "shift", "load", "response", "barrier", "matrix", "signal"]
ADJS = ["raised", "reduced", "patchy", "symmetric", "asymmetric", "early", "late",
        "persistent", "intermittent", "central", "peripheral", "basal", "apical", "dense",
        "faint", "reversible", "fixed", "dose-dependent", "painless", "tender"]
VERBS = ["causes", "precedes", "mimics", "worsens", "blocks", "triggers", "lowers", "raises",
         "spares", "involves", "predicts", "follows", "masks", "limits", "reverses"]
QUALIFIERS = ["in most adults", "within 48 hours", "after the first dose", "at rest",
              "on exertion", "in about a third of cases", "if untreated", "in smokers",
              "despite therapy", "on repeat testing", "in the elderly", "at presentation"]
NUMBERS = ["> 3 mg/dL", "< 40 mL/min", "≈ 30%", "≥ 2 weeks", "1 in 500", "2–4×", "< 10%",
           "> 120/min", "≥ 6.5%", "3–5 days"]
INLINE_TAGS = ["#high-yield", "#exam/recall", "#pearl", "#todo", "#mnemonic", "#review/weak"]
FM_TAGS = ["review", "exam/part-1", "exam/part-2", "pharm", "micro", "high-yield", "weak",
           "clinic", "revise-later", "anatomy/core"]
CALLOUTS = ["tip", "warning", "note", "example", "important", "question"]
CODE_LANGS = ["text", "python", "sql"]
GREEK = ["\\alpha", "\\beta", "\\gamma", "\\lambda", "\\mu", "\\sigma"]


def slugify(text: str) -> str:
    """Lowercase ASCII, runs of anything else → '-': the shape of Digital Garden permalinks."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


# ---------------------------------------------------------------- plan


def without_blank_runs(body: list[str]) -> list[str]:
    """The lines with no blank line at the start or end and never two in a row."""
    lines: list[str] = []
    for line in body:
        if line == "" and (not lines or lines[-1] == ""):
            continue
        lines.append(line)
    while lines and lines[-1] == "":
        lines.pop()
    return lines


@dataclass
class PlannedNote:
    idx: int
    title: str
    folder: tuple[str, ...]
    headings: list[str]
    fm: str = "json"  # json | json-tags | yaml
    tags: list[str] = field(default_factory=list)

    @property
    def dg_path(self) -> str:
        return "/".join((*self.folder, self.title + ".md"))

    @property
    def link_path(self) -> str:  # wiki-link target: vault path without .md
        return "/".join((*self.folder, self.title))

    @property
    def permalink(self) -> str:
        return "/" + "/".join(slugify(p) for p in (*self.folder, self.title)) + "/"


def _term(r: random.Random) -> str:
    word = r.choice(SYL_START) + r.choice(SYL_MID) + r.choice(SYL_END)
    if r.random() < 0.3:
        word = r.choice(SYL_START) + r.choice(SYL_MID) + word
    return word


def _title(r: random.Random) -> str:
    k = r.random()
    if k < 0.35:
        return f"{r.choice(TITLE_FRONT)} {_term(r)}"
    if k < 0.6:
        return f"{_term(r).capitalize()} {r.choice(TITLE_BACK)}"
    if k < 0.75:
        return f"{r.choice(EPONYMS)} {r.choice(TITLE_BACK)}"
    if k < 0.9:
        return _term(r).capitalize()
    return f"{r.choice(TITLE_FRONT)} {_term(r)} {r.choice(TITLE_BACK)}"


def plan_vault(n: int, seed: int) -> list[PlannedNote]:
    r = random.Random(f"anki-export-bench:{seed}:plan")
    # Leaf folders: about one per 3.3 notes (folder notes below add a few more decks).
    want = max(1, round(n / 3.3))
    leaves: list[tuple[str, ...]] = []
    seen: set[tuple[str, ...]] = set()
    names, weights = zip(*SUBJECTS, strict=True)
    while len(leaves) < want:
        path: tuple[str, ...] = (r.choices(names, weights)[0], r.choice(ORGANS), r.choice(TOPICS))
        if r.random() < 0.6:
            path += (f"{r.choice(GROUP_ADJ)} {r.choice(GROUP_NOUN)}",)
        if path not in seen:
            seen.add(path)
            leaves.append(path)

    titles: list[str] = []
    used: set[str] = set()
    while len(titles) < n:
        t = _title(r)
        if slugify(t) in used:
            t = f"{t} {r.choice(['type 2', 'variant', 'subtype B', 'of infancy', 'in adults'])}"
        if slugify(t) in used:
            continue
        used.add(slugify(t))
        titles.append(t)

    # Every leaf gets one note first, the rest are spread at random.
    homes = leaves[:n] + [r.choice(leaves) for _ in range(n - min(n, len(leaves)))]
    r.shuffle(homes)
    notes = []
    for i, (title, folder) in enumerate(zip(titles, homes, strict=True)):
        if r.random() < 0.05:  # a folder note: Topic/Topic.md
            folder = (*folder, title)
        k = r.randint(4, 9)
        heads = r.sample(HEADINGS, k)
        for j in range(k):
            if r.random() < 0.06:
                heads[j] = r.choice(QUESTION_HEADINGS)
            elif r.random() < 0.12:
                heads[j] += ":"
        heads = list(dict.fromkeys(heads))  # a repeated question heading is dropped
        if r.random() < 0.15:
            heads.append("Related")
        note = PlannedNote(i, title, folder, heads)
        x = r.random()
        if x < 0.1:
            note.fm, note.tags = "yaml", sorted(r.sample(FM_TAGS, r.randint(1, 3)))
        elif x < 0.2:
            note.fm, note.tags = "json-tags", sorted(r.sample(FM_TAGS, r.randint(1, 3)))
        notes.append(note)
    return notes


# ---------------------------------------------------------------- PNG


def tiny_png(r: random.Random) -> bytes:
    """A valid RGB PNG of 12-40 px a side: two colour bands and a diagonal."""
    w, h = r.randint(12, 40), r.randint(12, 40)
    a = bytes(r.randrange(256) for _ in range(3))
    b = bytes(r.randrange(256) for _ in range(3))
    rows = bytearray()
    for y in range(h):
        rows.append(0)
        for x in range(w):
            rows += b"\x00\x00\x00" if x == y else (a if y < h // 2 else b)

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(bytes(rows), 6)) + chunk(b"IEND", b""))


# ---------------------------------------------------------------- syntax of the two styles


class Garden:
    """Obsidian syntax as the Digital Garden plugin publishes it."""

    def frontmatter(self, n: PlannedNote) -> str:
        if n.fm == "yaml":
            tags = "".join(f"\n  - {t}" for t in n.tags)
            return (f"---\ndg-publish: true\ndg-path: {n.dg_path}\npermalink: {n.permalink}\n"
                    f"tags:{tags}\n---\n")
        data: dict[str, object] = {"dg-publish": True, "dg-path": n.dg_path,
                                   "permalink": n.permalink}
        if n.fm == "json-tags":
            data["tags"] = n.tags
        return "---\n" + json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n---\n"

    def title_line(self, n: PlannedNote) -> str:
        return ""

    def link(self, t: PlannedNote, form: str, alias: str, heading: str, in_table: bool) -> str:
        bar = "\\|" if in_table else "|"
        if form == "escaped":
            return f"[[{t.link_path}\\|{alias}]]"
        if form == "alias":
            return f"[[{t.link_path}{bar}{alias}]]"
        if form == "heading":
            return f"[[{t.title}#{heading}]]"
        return f"[[{t.title}]]"

    def embed(self, name: str, width: int | None) -> str:
        return f"![[{name}|{width}]]" if width else f"![[{name}]]"

    def callout(self, kind: str, title: str, folded: bool, lines: list[str]) -> list[str]:
        return [f"> [!{kind}]{'-' if folded else ''} {title}".rstrip()] + [f"> {x}" for x in lines]

    def image_folder(self, n: PlannedNote) -> tuple[str, ...]:
        return ("attachments",)

    # Realistic notes only (the synthetic ones never call these).
    def heading(self, level: int, text: str, sub: bool) -> str:
        return f"{'#' * level} {text}"

    def image(self, name: str, width: int | None, published: bool) -> str:
        if not published:
            return self.embed(name, width)
        url = "/img/user/attachments/" + name.replace(" ", "%20")
        return f"![{name}|{width}]({url})" if width else f"![{name}]({url})"

    def note_embed(self, t: PlannedNote, heading: str | None, inlined: list[str],
                   published: bool) -> list[str]:
        """`![[Note]]`, `![[Note#Heading]]`; published, the plugin has inlined the text."""
        if published:
            return ['<div class="transclusion internal-embed is-loaded">', "", *inlined, "",
                    "</div>"]
        return [f"![[{t.title}#{heading}]]" if heading else f"![[{t.title}]]"]

    def block_id(self, line: str, bid: str, published: bool) -> list[str]:
        return [line, f"{{ #{bid}}}"] if published else [f"{line} ^{bid}"]

    def comment(self, text: str) -> str:
        return f"%%{text}%%"

    def opening_title(self, n: PlannedNote) -> list[str]:
        return [f"# {n.title}", ""]


class MdAnkiDeck(Garden):
    """The same content as markdown-anki-decks reads it: plain CommonMark-ish Markdown."""

    def title_line(self, n: PlannedNote) -> str:
        return f"# {n.title}\n\n"

    def link(self, t: PlannedNote, form: str, alias: str, heading: str, in_table: bool) -> str:
        if form == "heading":
            return f"[{t.title} › {heading}]({t.permalink}#{slugify(heading)})"
        return f"[{alias if form in ('escaped', 'alias') else t.title}]({t.permalink})"

    def embed(self, name: str, width: int | None) -> str:
        return f"![{name[:-4]}]({name})"

    def callout(self, kind: str, title: str, folded: bool, lines: list[str]) -> list[str]:
        return [f"> **{kind.capitalize()}:** {title}".rstrip()] + [f"> {x}" for x in lines]

    def image_folder(self, n: PlannedNote) -> tuple[str, ...]:
        return n.folder

    def heading(self, level: int, text: str, sub: bool) -> str:
        return f"### {text}" if sub else f"## {text}"  # the peer reads `##` sections

    def image(self, name: str, width: int | None, published: bool) -> str:
        return self.embed(name, width)

    def note_embed(self, t: PlannedNote, heading: str | None, inlined: list[str],
                   published: bool) -> list[str]:
        return [self.link(t, "heading" if heading else "plain", t.title, heading or "", False)]

    def block_id(self, line: str, bid: str, published: bool) -> list[str]:
        return [line]

    def comment(self, text: str) -> str:
        return ""

    def opening_title(self, n: PlannedNote) -> list[str]:
        return []  # `title_line` writes it


FORMS = {"garden": Garden, "mdankideck": MdAnkiDeck}


# ---------------------------------------------------------------- one note


class Writer:
    def __init__(self, notes: list[PlannedNote], seed: int, style: Garden):
        self.notes, self.seed, self.style = notes, seed, style

    # words
    def phrase(self, r: random.Random) -> str:
        k = r.random()
        if k < 0.4:
            s = f"{r.choice(ADJS)} {r.choice(NOUNS)} {r.choice(VERBS)} the {r.choice(NOUNS)}"
        elif k < 0.7:
            s = f"{_term(r)} {r.choice(VERBS)} {r.choice(ADJS)} {r.choice(NOUNS)}"
        else:
            s = f"{r.choice(NOUNS)} {r.choice(NUMBERS)} {r.choice(QUALIFIERS)}"
        if r.random() < 0.3:
            s += f" {r.choice(QUALIFIERS)}"
        return s

    styled_highlights = True  # a word of some lines as ==highlight==

    def styled(self, r: random.Random, text: str) -> str:
        words = text.split(" ")
        i = r.randrange(len(words))
        k = r.random()
        if k < 0.25:
            words[i] = f"**{words[i]}**"
        elif k < 0.35:
            words[i] = f"_{words[i]}_"
        elif k < 0.40:
            words[i] = f"`{words[i]}`"
        elif k < 0.43 and self.styled_highlights:
            words[i] = f"=={words[i]}=="
        return " ".join(words)

    def link(self, r: random.Random, n: PlannedNote, in_table: bool = False) -> str:
        t = self.notes[r.randrange(len(self.notes))]
        if t.idx == n.idx and len(self.notes) > 1:
            t = self.notes[(n.idx + 1) % len(self.notes)]
        form = r.choices(["escaped", "alias", "plain", "heading"], [45, 15, 25, 15])[0]
        alias = t.title if r.random() < 0.6 else _term(r).capitalize()
        heading = r.choice(t.headings).rstrip(":")
        return self.style.link(t, form, alias, heading, in_table)

    def item(self, r: random.Random, n: PlannedNote) -> str:
        k = r.random()
        if k < 0.15:
            text = f"**{_term(r).capitalize()}**: {self.phrase(r)}"
        elif k < 0.27:
            text = f"{self.phrase(r)}, see {self.link(r, n)}"
        else:
            text = self.styled(r, self.phrase(r))
        if r.random() < 0.05:
            text += f" {r.choice(INLINE_TAGS)}"
        if r.random() < 0.04:
            text += f" (${r.choice(GREEK)} \\approx {r.randint(2, 90)}$)"
        return text

    def bullets(self, r: random.Random, n: PlannedNote, ind: str, numbered: bool) -> list[str]:
        out = []
        for i in range(r.randint(2, 6)):
            out.append(f"{f'{i + 1}.' if numbered else '-'} {self.item(r, n)}")
            if r.random() < 0.25:
                sub_num = r.random() < 0.2
                for j in range(r.randint(1, 3)):
                    out.append(f"{ind}{f'{j + 1}.' if sub_num else '-'} {self.item(r, n)}")
                    if r.random() < 0.15:
                        out.append(f"{ind}{ind}- {self.styled(r, self.phrase(r))}")
        return out

    def table(self, r: random.Random, n: PlannedNote) -> list[str]:
        cols = r.randint(2, 4)
        head = ["Feature", *(_term(r).capitalize() for _ in range(cols - 1))]
        out = ["| " + " | ".join(head) + " |", "| " + " | ".join(["---"] * cols) + " |"]
        for _ in range(r.randint(2, 5)):
            cells = [r.choice(NOUNS).capitalize()]
            for _c in range(cols - 1):
                x = r.random()
                cells.append(self.link(r, n, in_table=True) if x < 0.15
                             else r.choice(["+", "++", "−", "±", "rare", "typical"]) if x < 0.55
                             else r.choice(NUMBERS))
            out.append("| " + " | ".join(cells) + " |")
        return out

    def code(self, r: random.Random) -> list[str]:
        lang = r.choice(CODE_LANGS)
        if lang == "python":
            body = [f"def {_term(r)}_ratio(x, y):", f"    # {self.phrase(r)}",
                    f"    return x / (y + {r.randint(1, 9)})"]
        elif lang == "sql":
            body = [f"SELECT {r.choice(NOUNS)} FROM results", f"WHERE value > {r.randint(1, 99)};"]
        else:
            body = [f"{_term(r)} -> {_term(r)} -> {r.choice(NOUNS)}",
                    "## not a heading: inside a fence"]
        return ["```" + lang, *body, "```"]

    def section(self, r: random.Random, n: PlannedNote, heading: str, ind: str,
                images: list[tuple[str, tuple[str, ...]]]) -> list[str]:
        if r.random() < 0.2:  # tabs and 4 spaces mixed within one note
            ind = "    " if ind == "\t" else "\t"
        out: list[str] = []
        if heading == "Related":
            return [f"- {self.link(r, n)}" for _ in range(r.randint(2, 5))]
        k = r.random()
        if k < 0.25:
            out += self.bullets(r, n, ind, numbered=True)
        elif k < 0.45:
            out += [self.styled(r, self.phrase(r).capitalize() + ".")]
            out += self.bullets(r, n, ind, numbered=False)
        elif k < 0.55:
            out += [f"{self.phrase(r).capitalize()}; {self.phrase(r)}, and {self.link(r, n)}."]
        else:
            out += self.bullets(r, n, ind, numbered=False)
        x = r.random()
        if x < 0.10:
            out += [f"> {self.styled(r, self.phrase(r).capitalize())}."]
        elif x < 0.16:
            kind = r.choice(CALLOUTS)
            title = r.choice(["", "Pearl", "Trap", "Remember", _term(r).capitalize()])
            lines = [self.styled(r, self.phrase(r).capitalize()) + "."
                     for _ in range(r.randint(1, 3))]
            out += ["", *self.style.callout(kind, title, r.random() < 0.2, lines)]
        if r.random() < 0.05:
            out += ["", *self.table(r, n), ""]
        if r.random() < 0.03:
            out += ["", *self.code(r), ""]
        if r.random() < 0.03:
            out += ["", "$$", f"{r.choice(GREEK)} = \\frac{{{r.choice(NOUNS)}}}"
                    f"{{{r.choice(NOUNS)} + {r.randint(1, 9)}}}", "$$", ""]
        if r.random() < 0.04:
            name = f"{slugify(n.title)[:24]}-{n.idx}-{len(images) + 1}.png"
            images.append((name, self.style.image_folder(n)))
            out += ["", self.style.embed(name, r.choice([None, None, 300, 480])), ""]
        if r.random() < 0.12:
            for sub in r.sample(SUB_HEADINGS, r.randint(1, 2)):
                out += [f"### {sub}", *self.bullets(r, n, ind, numbered=False)]
        return out

    def note(self, n: PlannedNote) -> tuple[str, list[tuple[str, tuple[str, ...]]]]:
        r = random.Random(f"anki-export-bench:{self.seed}:note:{n.idx}")
        ind = "\t" if r.random() < 0.55 else "    "
        gap = r.random() < 0.3  # a blank line before each heading
        images: list[tuple[str, tuple[str, ...]]] = []
        lead = f"{self.styled(r, self.phrase(r).capitalize())}; {self.phrase(r)}."
        if r.random() < 0.3:
            lead += f" Part of {self.link(r, n)}."
        body = [lead]
        for h in n.headings:
            if gap:
                body.append("")
            body += [f"## {h}", *self.section(r, n, h, ind, images)]
        lines = without_blank_runs(body)
        text = self.style.frontmatter(n) + self.style.title_line(n) + "\n".join(lines) + "\n"
        return text, images


# ---------------------------------------------------------------- realistic notes

SHARES = {  # chance that a note holds each construct; in brackets its share of 931 real notes
    "wiki-link": 0.43,  # [40%]
    "callout": 0.26,  # [24%]
    "math": 0.34,  # [30%]
    "embed": 0.11,  # [10%]
    "code": 0.10,  # [8%]
    "table": 0.05,  # [4%]
    "footnote": 0.06,
    "task": 0.06,
    "highlight": 0.15,
    "comment": 0.07,  # none in published notes: the plugin removes them
    "html": 0.08,
    "field": 0.05,
    "tag": 0.15,
    "block-id": 0.06,
}
INLINE = ("wiki-link", "footnote", "highlight", "field", "tag")  # added to a line of text;
# the others add a block after the section's text (math and html: either)
PUBLISHED = 0.15  # notes in the plugin's published form
LAYOUTS = {2: 0.85, 1: 0.08, 3: 0.07}  # sections under `##`, several `#`, `###` only
INTRO = 0.45  # text before the first heading
REAL_CODE = {
    "python": ["import numpy as np", "", "def {t}(x):", "    return np.log1p(x) / {k}"],
    "r": ["fit <- glm({t} ~ dose, family = binomial, data = d)", "summary(fit)"],
    "bash": ["for f in *.dcm; do", "  {t} --out \"${{f%.dcm}}.nii\" \"$f\"", "done"],
    "javascript": ["const {t} = (xs) => xs.reduce((a, b) => a + b, 0) / {k};"],
    "sql": ["SELECT {t}, count(*) FROM visits", "GROUP BY {t} HAVING count(*) > {k};"],
}
FIELDS = ["source", "level", "status", "seen", "type"]
MATH = [r"\frac{{{a}}}{{{b} + {k}}}", r"\sum_{{i=1}}^{{n}} {a}_i", r"e^{{-t/{a}}}",
        r"\sqrt{{{a}^2 + {b}^2}}", r"{a} \cdot 10^{{{k}}}"]


class RealWriter(Writer):
    """Notes shaped like real gardens' (see the module's docstring): plain lists and
    paragraphs, with each construct of `SHARES` drawn note by note and put into one to two
    thirds of its sections."""

    styled_highlights = False  # no highlight unless drawn

    def item(self, r: random.Random, n: PlannedNote) -> str:  # no link, tag or math
        if r.random() < 0.15:
            return f"**{_term(r).capitalize()}**: {self.phrase(r)}"
        return self.styled(r, self.phrase(r))

    def wikilink(self, r: random.Random, n: PlannedNote, published: bool) -> str:
        t = self.notes[r.randrange(len(self.notes))]
        if t.idx == n.idx and len(self.notes) > 1:
            t = self.notes[(n.idx + 1) % len(self.notes)]
        form = "escaped" if published else r.choices(["alias", "plain", "heading"],
                                                      [30, 50, 20])[0]
        alias = t.title if r.random() < 0.6 else _term(r).capitalize()
        return self.style.link(t, form, alias, r.choice(t.headings).rstrip(":"), False)

    def math(self, r: random.Random) -> str:
        return r.choice(MATH).format(a=r.choice(["x", "y", "\\tau", "\\mu", "\\lambda"]),
                                     b=r.choice(["n", "k", "\\sigma"]), k=r.randint(2, 9))

    def base(self, r: random.Random, n: PlannedNote, heading: str, ind: str) -> list[str]:
        if heading == "Related":
            return [f"- {_term(r).capitalize()} {r.choice(TITLE_BACK)}"
                    for _ in range(r.randint(2, 4))]
        k = r.random()
        if k < 0.3:
            return [self.styled(r, self.phrase(r).capitalize() + ".")]
        if k < 0.5:
            return [self.styled(r, self.phrase(r).capitalize() + ":"),
                    *self.bullets(r, n, ind, numbered=False)]
        return self.bullets(r, n, ind, numbered=r.random() < 0.3)

    def inline(self, kind: str, r: random.Random, n: PlannedNote, line: str, pub: bool,
               footnotes: list[str]) -> str:
        if kind == "wiki-link":
            return f"{line.rstrip('.:')}, see {self.wikilink(r, n, pub)}"
        if kind == "math":
            return f"{line} (${self.math(r)}$)"
        if kind == "footnote":
            if r.random() < 0.6:
                footnotes.append(f"[^{len(footnotes) + 1}]: {self.phrase(r).capitalize()}.")
                return f"{line}[^{len(footnotes)}]"
            return f"{line}^[{self.phrase(r)}]"
        if kind == "highlight":
            return f"{line}; =={r.choice(ADJS)} {r.choice(NOUNS)}=="
        if kind == "field":
            return f"{line} ({r.choice(FIELDS)}:: {_term(r)})"
        if kind == "tag":
            return f"{line} {r.choice(INLINE_TAGS)}"
        if kind == "comment":
            return f"{line} {self.style.comment(self.phrase(r))}".rstrip()
        # html
        if r.random() < 0.5:
            return f"{line}<br>{self.phrase(r)}"
        return f"{line} (10<sup>{r.randint(2, 9)}</sup>/L)"

    def block(self, kind: str, r: random.Random, n: PlannedNote, pub: bool, ind: str,
              images: list[tuple[str, tuple[str, ...]]]) -> list[str]:
        if kind == "callout":
            lines = [self.styled(r, self.phrase(r).capitalize()) + "."
                     for _ in range(r.randint(1, 2))]
            if r.random() < 0.3:
                lines += [f"- {self.item(r, n)}" for _ in range(r.randint(2, 3))]
            title = r.choice(["", "Pearl", "Trap", "Remember", _term(r).capitalize()])
            kind = r.choice([*CALLOUTS, "info", "abstract", "danger", "success"])
            return self.style.callout(kind, title, r.random() < 0.2, lines)
        if kind == "math":
            form = r.random()
            if form < 0.5:  # a display block
                return ["$$", self.math(r), "$$"]
            if form < 0.7:  # with a blank line inside
                return ["$$", self.math(r), "", f"\\text{{with }} {self.math(r)}", "$$"]
            return [f"{self.phrase(r).capitalize()}: $${self.math(r)}$$which "  # `$$` in a line
                    f"{r.choice(VERBS)} the {r.choice(NOUNS)}."]
        if kind == "embed":
            if r.random() < 0.55:
                name = f"{slugify(n.title)[:24]}-{n.idx}-{len(images) + 1}.png"
                images.append((name, self.style.image_folder(n)))
                return [self.style.image(name, r.choice([None, 300, 300, 480]), pub)]
            t = self.notes[r.randrange(len(self.notes))]
            if t.idx == n.idx:
                t = self.notes[(n.idx + 1) % len(self.notes)]
            heading = r.choice(t.headings).rstrip(":") if r.random() < 0.6 else None
            return self.style.note_embed(t, heading, [self.phrase(r).capitalize() + "."], pub)
        if kind == "code":
            lang = r.choice(sorted(REAL_CODE))
            body = [x.format(t=_term(r), k=r.randint(2, 9)) for x in REAL_CODE[lang]]
            return ["```" + lang, *body, "```"]
        if kind == "table":
            cols = r.randint(2, 4)
            out = ["| " + " | ".join(["Feature", *(_term(r) for _ in range(cols - 1))]) + " |",
                   "|" + "---|" * cols]
            for _ in range(r.randint(2, 5)):
                cells = [r.choice(NOUNS), *(r.choice(NUMBERS) for _ in range(cols - 1))]
                out.append("| " + " | ".join(cells) + " |")
            return out
        if kind == "task":
            return [f"- [{r.choice([' ', ' ', 'x'])}] {self.phrase(r)}"
                    for _ in range(r.randint(2, 4))]
        if kind == "html":
            return ["<details>", "<summary>Answer</summary>", "",
                    self.phrase(r).capitalize() + ".", "", "</details>"]
        # comment
        return ["%%", self.phrase(r).capitalize() + ".", "%%"] if self.style.comment("x") else []

    def note(self, n: PlannedNote) -> tuple[str, list[tuple[str, tuple[str, ...]]]]:
        r = random.Random(f"anki-export-bench:{self.seed}:real:{n.idx}")
        pub = r.random() < PUBLISHED
        has = [k for k, p in SHARES.items() if r.random() < p and not (pub and k == "comment")]
        level = r.choices(list(LAYOUTS), list(LAYOUTS.values()))[0]
        ind = "\t" if r.random() < 0.55 else "    "
        gap = r.random() < 0.5  # a blank line before each heading
        images: list[tuple[str, tuple[str, ...]]] = []
        footnotes: list[str] = []
        texts = [self.base(r, n, h, ind) for h in n.headings]
        blocks: list[list[list[str]]] = [[] for _ in n.headings]
        subs: list[list[str]] = [[] for _ in n.headings]
        cards = [i for i, h in enumerate(n.headings) if h != "Related"] or [0]
        for kind in has:
            # in up to two thirds of its sections: placed in one to three, 88% of the
            # sections took the fast path (now 85%), against 55-81% in issue 22's real vaults
            for _ in range(r.randint(1, max(1, len(cards) * 2 // 3))):
                i = r.choice(cards)
                mixed = kind in ("math", "html", "comment") and r.random() < 0.5
                if kind in INLINE or mixed:
                    at = r.randrange(len(texts[i]))
                    texts[i][at] = self.inline(kind, r, n, texts[i][at], pub, footnotes)
                elif kind == "block-id":
                    bid = f"{slugify(n.headings[i])[:12].strip('-')}-{r.randint(10, 99)}"
                    at = r.randrange(len(texts[i]))
                    texts[i][at:at + 1] = self.style.block_id(texts[i][at], bid, pub)
                else:
                    blocks[i].append(self.block(kind, r, n, pub, ind, images))
        for i in range(len(n.headings)):
            if level < 3 and r.random() < 0.1:
                sub = r.choice(SUB_HEADINGS)
                subs[i] = [self.style.heading(level + 1, sub, True),
                           *self.bullets(r, n, ind, numbered=False)]
        body: list[str] = []
        if level == 3 and r.random() < 0.5:
            body += self.style.opening_title(n)
        if r.random() < INTRO:
            body += [self.styled(r, self.phrase(r).capitalize()) + ".", ""]
        for i, h in enumerate(n.headings):
            if gap:
                body.append("")
            body += [self.style.heading(level, h, False), *texts[i]]
            for b in blocks[i]:
                body += ["", *b, ""]
            body += subs[i]
        if footnotes:
            body += ["", *footnotes]
        lines = without_blank_runs(body)
        return (self.frontmatter(n, pub) + self.style.title_line(n) + "\n".join(lines) + "\n",
                images)

    def frontmatter(self, n: PlannedNote, published: bool) -> str:
        """Published: the plugin's one-line JSON; else the YAML a user writes (with a
        `permalink`, or anki-export warns about every note and the benchmark times that)."""
        if published:
            data: dict[str, object] = {"dg-publish": True, "dg-path": n.dg_path,
                                       "permalink": n.permalink}
            if n.tags:
                data["tags"] = n.tags
            return "---\n" + json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n---\n"
        tags = "".join(f"\n  - {t}" for t in n.tags)
        return (f"---\ndg-publish: true\npermalink: {n.permalink}\n"
                + (f"tags:{tags}\n" if tags else "") + "---\n")


WRITERS = {"realistic": RealWriter, "synthetic": Writer}


# ---------------------------------------------------------------- shares of constructs

_FENCE = re.compile(r"^```.*?^```[ \t]*$", re.M | re.S)
CONSTRUCTS = {  # what --stats counts: a note holds it where its text (no frontmatter) matches
    "wiki-link": re.compile(r"(?<!!)\[\[[^\]\n]+\]\]"),
    "callout": re.compile(r"^>[ \t]*\[![\w-]+\]", re.M),
    "math": re.compile(r"\$\$|(?<![\\$])\$[^\s$][^$\n]*\$(?!\d)"),
    "math $$ block with a blank line": re.compile(r"^\$\$\n(?:[^$\n]*\n)*?\n(?:[^$\n]*\n)*?\$\$$",
                                                  re.M),
    "math $$…$$ within a line": re.compile(r"^[^$\n]+\$\$[^$\n]+\$\$", re.M),
    "embed": re.compile(r"!\[\[[^\]\n]+\]\]|!\[[^\]\n]*\]\(/img/user/|class=\"transclusion"),
    "embed of a note": re.compile(r"!\[\[(?![^\]\n]*\.png)[^\]\n]+\]\]|class=\"transclusion"),
    "code": re.compile(r"^```\w+", re.M),
    "table": re.compile(r"^\|.*\|[ \t]*\n\|[ \t:|-]+\|[ \t]*$", re.M),
    "footnote": re.compile(r"\[\^\w+\]|\^\["),
    "task": re.compile(r"^[ \t]*[-*+] \[[ xX]\] ", re.M),
    "highlight": re.compile(r"==[^=\n]+=="),
    "comment": re.compile(r"%%"),
    "html": re.compile(r"<(?:br|sup|sub|details|summary|div|span|kbd)\b"),
    "field": re.compile(r"\(\w[\w -]*:: [^)\n]*\)|^\w[\w -]*:: ", re.M),
    "tag": re.compile(r"(?:^|[ \t])#[A-Za-z][\w/-]*", re.M),
    "block-id": re.compile(r" \^[\w-]+$|^\{ #[\w-]+\}$", re.M),
    "notes under several #": re.compile(r"(?:^# .*\n(?:.*\n)*?){2}", re.M),
    "notes under ### only": re.compile(r"\A(?![\s\S]*^## )[\s\S]*^### ", re.M),
    "intro": re.compile(r"\A(?:# .*\n)?\s*(?!#)\S"),
    "published form": re.compile(r"\A---\n\{\"dg-publish\":true"),
}


def construct_shares(root: str) -> dict[str, float]:
    """The percentage of the vault's notes holding each construct of `CONSTRUCTS`, found by
    its regular expression in the files as written (fenced code taken out first, but for
    `code` itself)."""
    counts = dict.fromkeys(CONSTRUCTS, 0)
    notes = 0
    for folder, _dirs, files in os.walk(root):
        for name in files:
            if not name.endswith(".md"):
                continue
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                text = f.read()
            notes += 1
            body = text.split("\n---\n", 1)[1] if text.startswith("---\n") else text
            bare = _FENCE.sub("", body)
            for key, pattern in CONSTRUCTS.items():
                if key == "published form":
                    counts[key] += bool(pattern.search(text))
                else:
                    counts[key] += bool(pattern.search(body if key == "code" else bare))
    return {key: round(100 * c / max(1, notes), 1) for key, c in counts.items()}


# ---------------------------------------------------------------- main


def write_vault(out: str, n: int, seed: int = 0, style: str = "realistic",
                form: str = "garden") -> dict[str, int]:
    notes = plan_vault(n, seed)
    writer = WRITERS[style](notes, seed, FORMS[form]())
    made: set[str] = set()
    stats = {"notes": 0, "sections": 0, "decks": 0, "images": 0, "bytes": 0}

    def folder(parts: tuple[str, ...]) -> str:
        d = os.path.join(out, *parts)
        if d not in made:
            os.makedirs(d, exist_ok=True)
            made.add(d)
        return d

    for note in notes:
        text, images = writer.note(note)
        data = text.encode("utf-8")
        with open(os.path.join(folder(note.folder), note.title + ".md"), "wb") as f:
            f.write(data)
        stats["notes"] += 1
        stats["sections"] += len(note.headings)
        stats["bytes"] += len(data)
        for name, where in images:
            png = tiny_png(random.Random(f"anki-export-bench:{seed}:png:{name}"))
            with open(os.path.join(folder(where), name), "wb") as f:
                f.write(png)
            stats["images"] += 1
    stats["decks"] = len({note.folder for note in notes})
    return stats


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("out", help="vault folder to create (files in it are overwritten)")
    ap.add_argument("--notes", type=int, required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--style", choices=sorted(WRITERS), default="realistic",
                    help="what the notes hold [%(default)s]")
    ap.add_argument("--form", choices=sorted(FORMS), default="garden",
                    help="whose input: anki-export's (garden) or the peer's [%(default)s]")
    ap.add_argument("--stats", action="store_true",
                    help="print the share of notes holding each construct")
    args = ap.parse_args(argv)
    if args.notes < 1:
        ap.error("--notes must be at least 1")
    s = write_vault(args.out, args.notes, args.seed, args.style, args.form)
    print(f"make_vault: style={args.style} form={args.form} seed={args.seed} "
          f"notes={s['notes']} sections={s['sections']} decks={s['decks']} "
          f"images={s['images']} bytes={s['bytes']}")
    if args.stats:
        for key, share in construct_shares(args.out).items():
            print(f"  {share:5.1f}%  {key}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
