"""Stable cloze numbers: every cloze keeps its card, and its review history, while the note
is edited.

A number written in the note (`c3`) is kept. A highlight gets one from the build
manifest's memory of the note (`ClozeMemory`): the number of the remembered cloze with the same
text; else, if it sits between the same two kept clozes as remembered ones that lost their text,
the number of the one most like it (an edit); else a number the note never used. Numbers whose
cloze is gone are never handed to another cloze: their cards still exist in Anki (empty), with
the old cloze's review history.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .cloze import MAX_NUMBER, Cloze, ClozeText


@dataclass(frozen=True, slots=True)
class ClozeMemory:
    """What the build manifest remembers of a cloze note between builds."""

    live: tuple[tuple[int, str], ...] = ()  # (number, text) of each cloze, in reading order
    empty: tuple[tuple[int, str], ...] = ()  # numbers whose cloze is gone: empty cards in Anki


@dataclass(frozen=True, slots=True)
class Numbering:
    """The numbers a build gives a cloze note's highlights, and what it must remember of them."""

    highlights: Mapping[int, int]  # index in `ClozeText.clozes` → number, for highlights
    memory: ClozeMemory  # for the next build
    emptied: tuple[int, ...]  # numbers this build took out of the note: now empty cards


def number_clozes(text: ClozeText, memory: ClozeMemory = ClozeMemory()) -> Numbering:
    """Numbers for the highlights of a section, from what the last build shipped (see the
    module docstring for the rule); explicit numbers are kept as written."""
    numbers: list[int | None] = [c.number for c in text.clozes]
    taken = {n for n in numbers if n is not None}
    kept = [n in taken for n, _ in memory.live]  # remembered clozes still in the note
    _same_text(text.clozes, numbers, memory, kept, taken)
    _same_place(text.clozes, numbers, memory.live, kept, taken)
    used = {n for n, _ in (*memory.live, *memory.empty)}  # cards the note has in Anki
    highest = max([0, *taken, *used])
    highlights = [i for i, c in enumerate(text.clozes) if c.number is None]
    if text.together and highlights:
        matched = [n for i in highlights if (n := numbers[i]) is not None]
        shared = min(matched) if matched else _unused(highest, taken | used)
        for i in highlights:
            numbers[i] = shared
    for i in highlights:
        if numbers[i] is None:
            numbers[i] = fresh = _unused(highest, taken | used)
            taken.add(fresh)
            highest = max(highest, fresh)
    final = [n for n in numbers if n is not None]
    live = tuple(zip(final, (c.text for c in text.clozes), strict=True))
    gone = {n: t for n, t in (*memory.empty, *memory.live) if n not in final}
    emptied = sorted({n for n, _ in memory.live} - set(final))
    return Numbering({i: final[i] for i in highlights}, ClozeMemory(live, tuple(sorted(
        gone.items()))), tuple(emptied))


def _same_text(clozes: Sequence[Cloze], numbers: list[int | None], memory: ClozeMemory,
               kept: list[bool], taken: set[int]) -> None:
    """A highlight whose text the memory knows gets its number back, a live one first, then
    one whose cloze had been removed (its card, empty meanwhile, comes back with its history)."""
    pools = ((memory.live, kept), (memory.empty, [False] * len(memory.empty)))
    for i, cloze in enumerate(clozes):
        if numbers[i] is not None:
            continue
        for entries, used in pools:
            j = next((j for j, (n, t) in enumerate(entries)
                      if not used[j] and t == cloze.text and n not in taken), None)
            if j is not None:
                used[j] = True
                numbers[i] = entries[j][0]
                taken.add(entries[j][0])
                break


def _same_place(clozes: Sequence[Cloze], numbers: list[int | None],
                live: Sequence[tuple[int, str]], kept: list[bool], taken: set[int]) -> None:
    """An edited highlight: the remembered clozes that lost their text and the highlights
    without a number are grouped by the kept clozes around them; within a group they pair in
    order, the most alike when the counts differ."""
    groups: dict[tuple[int | None, int | None], tuple[list[int], list[int]]] = defaultdict(
        lambda: ([], []))
    old_gaps = _gaps([n if kept[j] else None for j, (n, _) in enumerate(live)])
    for j, gap in enumerate(old_gaps):
        if not kept[j]:
            groups[gap][0].append(j)
    for i, gap in enumerate(_gaps(numbers)):
        if numbers[i] is None:
            groups[gap][1].append(i)
    for old, new in groups.values():
        pairs = _align([live[j][1] for j in old], [clozes[i].text for i in new])
        for o, n in pairs:
            number = live[old[o]][0]
            if number not in taken:
                numbers[new[n]] = number
                taken.add(number)


def _gaps(numbers: Sequence[int | None]) -> list[tuple[int | None, int | None]]:
    """For each position: the numbers of the nearest numbered neighbours before and after."""
    before: list[int | None] = []
    last: int | None = None
    for n in numbers:
        before.append(last)
        last = n if n is not None else last
    after: list[int | None] = []
    last = None
    for n in reversed(numbers):
        after.append(last)
        last = n if n is not None else last
    return list(zip(before, reversed(after), strict=True))


def _align(old: Sequence[str], new: Sequence[str]) -> list[tuple[int, int]]:
    """Order-keeping (old, new) pairs, as many as the shorter side has, most alike in total;
    ties pair the earlier ones."""
    if len(old) < len(new):
        return [(o, n) for n, o in _align(new, old)]
    lost = float("-inf")
    best = [[0.0] + [lost] * len(new) for _ in range(len(old) + 1)]
    for i in range(1, len(old) + 1):
        for j in range(1, len(new) + 1):
            best[i][j] = max(best[i - 1][j], best[i - 1][j - 1] + _alike(old[i - 1], new[j - 1]))
    pairs, i, j = [], len(old), len(new)
    while j:
        if best[i][j] == best[i - 1][j]:
            i -= 1
        else:
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
    return pairs[::-1]


def _alike(a: str, b: str) -> float:
    import difflib  # here: only a changed cloze note needs it

    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def _unused(highest: int, avoid: set[int]) -> int:
    """The next number after every one the note ever used; past c500, the lowest one not in
    `avoid` (numbers in use, and those of the note's cards in Anki), else c500 shared."""
    if highest < MAX_NUMBER:
        return highest + 1
    return next((n for n in range(1, MAX_NUMBER + 1) if n not in avoid), MAX_NUMBER)
