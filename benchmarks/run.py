#!/usr/bin/env python3
"""Benchmark anki-export against the floor and the peer tool; print a table and the ratios.

    python benchmarks/run.py --sizes 1000,5000        # the usual run (about 15 min, 2 cores)
    python benchmarks/run.py --sizes 20000 --skip peer --merge results-5000.json

For each vault size N a Digital Garden vault is generated (make_vault.py, seeded; --style
realistic by default, or the synthetic vaults of the figures before issue 22) into a
temporary folder, and each measurement is the median of --repeat whole-process runs (wall
time, and the child's peak RSS from wait4). The runs go in rounds: cold, no-change, one-edit,
floor-pyromark and cold-pyromark-writer once each, back to back, then the next round; a ratio
of two of them is the median of its rounds' ratios, so it compares runs seconds apart.

  cold        anki-export build into a fresh output folder, with a fresh XDG_CACHE_HOME
  no-change   anki-export build again into the same folder, nothing changed
  one-edit    one note gets a new line under its first heading, then anki-export build (the
              note is put back, with its time, right after)
  help        anki-export --help (and, for scale, the bare interpreter start: python -c pass)
  floor-pyromark / floor-markdown-it
              benchmarks/floor.py on the same vault: the least work any tool must do
  cold-pyromark-writer
              a cold build with the section writer swapped for pyromark's compiled one
              (pyromark_writer.py: wrong cards): what a compiled writer could give at best
  peer        mdankideck (markdown-anki-decks) on the same content in its own input style,
              from a venv under /tmp that is made on first use (pip: markdown-anki-decks,
              click<8.2); skipped with a message if it cannot be installed

Not timed, and reported with each size: the share of notes holding each construct
(make_vault.py --stats).

Needs the project installed (anki-export on PATH or beside this Python) and, for the floor,
genanki, pyyaml, pyromark and markdown-it-py in this Python.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from make_vault import WRITERS, construct_shares, write_vault  # noqa: E402

MEASURES = ["cold", "no-change", "one-edit", "help", "python-start", "floor-pyromark",
            "floor-markdown-it", "cold-pyromark-writer", "peer"]
@dataclass(frozen=True)
class Targets:
    """The ratios a style of vault is held to: which issue set them, and the bounds."""

    issue: str
    peer: float  # peer / cold at least
    floor: float  # cold / floor-pyromark at most
    no_change: float  # no-change / cold under
    one_edit: float  # one-edit / cold under


TARGETS = {"synthetic": Targets("issue 6", 20, 2, 0.10, 0.20),
           "realistic": Targets("issue 22", 25, 3, 0.05, 0.10)}
TARGETS_TEXT = """\
targets on --style realistic (issue 22): cold >= 25x faster than peer and <= 3x floor-pyromark
(1k, 5k); no-change < 5% of cold; one-edit < 10% of cold; peak RSS at 20k < 2x floor at 5k;
--help < 150 ms. On --style synthetic (issue 6): >= 20x, <= 2x, < 10%, < 20%, the same."""


# ---------------------------------------------------------------- running one process


def tree_pss_kib(root: int) -> int:
    """Proportional set size of a process and all its descendants (Linux /proc), in KiB:
    worker processes count, pages they share with their parent count once."""
    total, stack, seen = 0, [root], set()
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as f:
                    stack += [int(c) for c in f.read().split()]
        except (OSError, ValueError):
            continue
    return total


def run_once(cmd: list[str], *, env: dict[str, str] | None = None, cwd: str | None = None,
             timeout: float = 3600, sample: float = 0.1) -> dict:
    """Run `cmd` to the end: wall seconds, CPU seconds, the child's peak RSS (MiB, from wait4:
    the largest single process), the sampled peak PSS of its process tree (MiB), exit code."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=cwd,
                                stdin=subprocess.DEVNULL)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        done = threading.Event()
        peak = [0]

        def sampler() -> None:
            while not done.wait(sample):
                peak[0] = max(peak[0], tree_pss_kib(proc.pid))

        watcher = threading.Thread(target=sampler, daemon=True)
        if sample > 0:
            watcher.start()
        try:  # wait4: this child's own rusage, not the running max over all children
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
            done.set()
        wall = time.perf_counter() - start
        if sample > 0:
            watcher.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
                "rss_mib": usage.ru_maxrss / 1024, "tree_pss_mib": peak[0] / 1024 or None,
                "rc": proc.returncode, "load1": os.getloadavg()[0],
                "stdout": out.read().decode("utf-8", "replace"),
                "stderr": err.read().decode("utf-8", "replace"),
                "timed_out": wall >= timeout}


def summarise(runs: list[dict], **extra: object) -> dict:
    ok = [r for r in runs if r["rc"] == 0]
    walls = [r["wall_s"] for r in ok]
    result = {
        "runs": len(runs),
        "ok": len(ok),
        "median_s": statistics.median(walls) if walls else None,
        "min_s": min(walls) if walls else None,
        "max_s": max(walls) if walls else None,
        "walls_s": [round(w, 4) for w in walls],
        "cpu_median_s": statistics.median(r["cpu_s"] for r in ok) if ok else None,
        "load1_max": round(max(r["load1"] for r in runs), 2),
        "rss_mib": max((r["rss_mib"] for r in ok), default=None),
        "tree_pss_mib": max((r["tree_pss_mib"] or 0 for r in ok), default=None) or None,
        **extra,
    }
    if len(ok) < len(runs):
        bad = next(r for r in runs if r["rc"] != 0)
        result["error"] = f"exit {bad['rc']}: " + (bad["stderr"].strip()[-600:]
                                                  or bad["stdout"].strip()[-600:])
    return result


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- tools


def find_anki_export(given: str | None) -> list[str]:
    if given:
        return given.split()
    beside = Path(sys.executable).parent / "anki-export"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("anki-export")
    if found:
        return [found]
    return [sys.executable, "-m", "anki_export"]


def interpreter_of(cmd: list[str]) -> str:
    """The Python that runs a console script (its shebang), for the `python -c pass` baseline."""
    try:
        first = Path(cmd[0]).read_text(errors="replace").splitlines()[0]
        if first.startswith("#!") and "python" in first:
            return first[2:].strip().split()[0]
    except (OSError, IndexError):
        pass
    return cmd[0] if "python" in Path(cmd[0]).name else sys.executable


def ensure_peer(venv: Path) -> tuple[list[str] | None, str]:
    exe = venv / "bin" / "mdankideck"
    if exe.exists():
        return [str(exe)], "ready"
    log(f"peer: creating {venv} with markdown-anki-decks and click<8.2 ...")
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True,
                       capture_output=True, timeout=300)
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
                        "markdown-anki-decks", "click<8.2"], check=True, capture_output=True,
                       timeout=900)
    except (subprocess.SubprocessError, OSError) as e:
        msg = getattr(e, "stderr", b"") or b""
        return None, f"cannot install markdown-anki-decks ({e}); {msg.decode()[-300:]}"
    if not exe.exists():
        return None, "mdankideck not found after install"
    return [str(exe)], "installed"


def build_options(anki_export: list[str]) -> str:
    r = run_once([*anki_export, "build", "--help"], timeout=120)
    return r["stdout"]


# ---------------------------------------------------------------- one vault size

CARDS = re.compile(r"wrote (\d+) cards in (\d+) decks")


def edit_note(path: Path, i: int) -> None:
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    at = next(k for k, line in enumerate(lines) if re.match(r"#{1,6} ", line))  # the first
    # heading: `##` in the synthetic notes, any level in the realistic ones
    lines.insert(at + 1, f"- benchmark edit {i}: a new line in the first section")
    path.write_text("\n".join(lines), encoding="utf-8")


def clean_vault_top(vault: Path, before: set[str]) -> list[str]:
    """Remove what a run left at the top of the vault (a cache folder, say): a cold run
    must find none of it."""
    extra = sorted(set(os.listdir(vault)) - before)
    for name in extra:
        p = vault / name
        shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
    return extra


def floor_facts(run: dict) -> dict:
    """The cards, decks and step times `floor.py` printed as its last line; none if it
    failed."""
    if run["rc"] != 0:
        return {}
    steps = json.loads(run["stdout"].strip().splitlines()[-1])
    return {"cards": steps.get("cards"), "decks": steps.get("decks"),
            "steps": {k: v for k, v in steps.items() if k.endswith("_s")}}


def bench_size(n: int, args: argparse.Namespace, work: Path, anki_export: list[str],
               peer: list[str] | None, peer_note: str) -> dict:
    res: dict = {}
    root = work / f"n{n}"
    vault = root / "garden"
    t = time.perf_counter()
    stats = write_vault(str(vault), n, args.seed, args.style)
    written = time.perf_counter()
    log(f"[{n}] vault: {stats} ({written - t:.1f} s)")
    res["vault"] = stats
    top = set(os.listdir(vault))
    env0 = dict(os.environ)
    env0.pop("SOURCE_DATE_EPOCH", None)
    want = set(args.measure) - set(args.skip)

    def ae_build(out: Path, xdg: Path, label: str, command: list[str] = anki_export) -> dict:
        env = {**env0, "XDG_CACHE_HOME": str(xdg)}
        r = run_once([*command, "build", str(vault), "-o", str(out)], env=env,
                     timeout=args.timeout)
        m = CARDS.search(r["stdout"])
        r["cards"], r["decks"] = (int(m.group(1)), int(m.group(2))) if m else (None, None)
        log(f"[{n}] {label}: {r['wall_s']:.2f} s, {r['rss_mib']:.0f} MiB, rc={r['rc']}"
            + (f", {r['cards']} cards" if m else ""))
        return r

    notes = sorted(vault.rglob("*.md"))
    edited = notes[len(notes) // 2]
    original, stamp = edited.read_bytes(), edited.stat()
    time.sleep(max(0.0, 2.5 - (time.perf_counter() - written)))  # files modified within 2 s
    # of a build are unsettled to anki-export: it reads them again in the builds after
    rounds: dict[str, list[dict]] = {}

    def add(key: str, run: dict) -> None:
        rounds.setdefault(key, []).append(run)

    def fresh(out: Path, xdg: Path) -> tuple[Path, Path]:
        """An output folder and cache for a cold build, with nothing of an earlier run's."""
        for p in (out, xdg):
            shutil.rmtree(p, ignore_errors=True)
        return out, xdg

    def done(out: Path, xdg: Path) -> None:
        left = clean_vault_top(vault, top)
        if left:
            log(f"[{n}] removed from the vault after a run: {left}")
        if not args.keep:
            fresh(out, xdg)

    def floor(parser: str, label: str) -> dict:
        # On realistic vaults the floor makes the intros cards too, as anki-export does (it
        # does on the synthetic ones too, whose floor stays as its figures were measured).
        intro = ["--intro"] if args.style == "realistic" else []
        r = run_once([args.floor_python, str(HERE / "floor.py"), str(vault),
                      str(root / f"floor-{parser}.apkg"), "--parser", parser, *intro],
                     timeout=args.timeout)
        log(f"[{n}] {label}: {r['wall_s']:.2f} s, {r['rss_mib']:.0f} MiB, rc={r['rc']}")
        return r

    # Round by round, each measurement once, back to back: a ratio then compares runs made
    # seconds apart, not minutes (the machine's speed drifts by 10% and more over minutes).
    for i in range(args.repeat):
        if want & {"cold", "no-change", "one-edit"}:
            out, xdg = fresh(root / f"cold-out-{i}", root / f"cold-xdg-{i}")
            cold = ae_build(out, xdg, f"cold #{i + 1}")
            add("cold", cold)
            if "no-change" in want and cold["rc"] == 0:
                add("no-change", ae_build(out, xdg, f"no-change #{i + 1}"))
            if "one-edit" in want and cold["rc"] == 0:
                edit_note(edited, i)
                try:
                    add("one-edit", ae_build(out, xdg, f"one-edit #{i + 1}"))
                finally:  # as it was, its time too: a recent one would make it unsettled
                    edited.write_bytes(original)
                    os.utime(edited, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
            done(out, xdg)
        if "floor-pyromark" in want:
            add("floor-pyromark", floor("pyromark", f"floor-pyromark #{i + 1}"))
        if "cold-pyromark-writer" in want:
            out, xdg = fresh(root / f"bound-out-{i}", root / f"bound-xdg-{i}")
            add("cold-pyromark-writer", ae_build(
                out, xdg, f"cold-pyromark-writer #{i + 1}",
                [interpreter_of(anki_export), str(HERE / "pyromark_writer.py")]))
            done(out, xdg)
    for key, runs in rounds.items():
        extra: dict[str, object] = {"paired": True}
        if key in ("cold", "cold-pyromark-writer"):
            extra.update(cards=runs[-1]["cards"], decks=runs[-1]["decks"])
        elif key == "one-edit":
            extra["edited"] = str(edited.relative_to(vault))
        elif key == "floor-pyromark":
            extra.update(floor_facts(runs[-1]))
        res[key] = summarise(runs, **extra)
    res["shares"] = construct_shares(str(vault))
    clean_vault_top(vault, top)
    if "help" in want:
        runs = [run_once([*anki_export, "--help"]) for _ in range(max(5, args.repeat))]
        res["help"] = summarise(runs)
        log(f"[{n}] --help: {res['help']['median_s'] * 1000:.0f} ms")
    if "python-start" in want:
        py = interpreter_of(anki_export)
        runs = [run_once([py, "-c", "pass"]) for _ in range(max(5, args.repeat))]
        res["python-start"] = summarise(runs)
    if "floor-markdown-it" in want:  # not in a ratio: its runs need no partner
        runs = [floor("markdown-it", f"floor-markdown-it #{i + 1}") for i in range(args.repeat)]
        res["floor-markdown-it"] = summarise(runs, **floor_facts(runs[-1]))
    if "peer" in want:
        if peer is None:
            res["peer"] = {"skipped": peer_note}
        elif n > args.peer_max:
            res["peer"] = {"skipped": f"over --peer-max {args.peer_max} notes"}
        else:
            pin = root / "peer-in"
            write_vault(str(pin), n, args.seed, args.style, "mdankideck")
            runs = []
            peer_runs = args.peer_repeat or (args.repeat if n <= 1000 else 1)
            for i in range(peer_runs):
                pout = root / f"peer-out-{i}"
                shutil.rmtree(pout, ignore_errors=True)
                pout.mkdir(parents=True)
                r = run_once([*peer, str(pin), str(pout)], timeout=args.timeout)
                written = len(list(pout.glob("*.apkg")))
                if r["rc"] == 0 and written != n:
                    r["rc"] = -1
                    r["stderr"] += f"\nmdankideck wrote {written} packages for {n} notes"
                log(f"[{n}] peer #{i + 1}: {r['wall_s']:.1f} s, {r['rss_mib']:.0f} MiB, "
                    f"rc={r['rc']}, {written} packages")
                runs.append(r)
                shutil.rmtree(pout, ignore_errors=True)
            res["peer"] = summarise(runs, packages=n)
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return res


# ---------------------------------------------------------------- report


def med(res: dict, size: int, key: str) -> float | None:
    m = res.get(str(size), {}).get(key) or {}
    return m.get("median_s")


def rss(res: dict, size: int, key: str) -> float | None:
    m = res.get(str(size), {}).get(key) or {}
    return m.get("rss_mib")


def pss(res: dict, size: int, key: str) -> float | None:
    m = res.get(str(size), {}).get(key) or {}
    return m.get("tree_pss_mib")


def cpu(res: dict, size: int, key: str) -> float | None:
    m = res.get(str(size), {}).get(key) or {}
    return m.get("cpu_median_s")


def paired(res: dict, size: int, num: str, den: str) -> tuple[float | None, str]:
    """`num / den`, and how it was taken: the median of the ratios of runs made in the same
    round, where both were measured round by round and every run succeeded; else the ratio
    of the medians."""
    a, b = (res.get(str(size), {}).get(key) or {} for key in (num, den))
    if (a.get("paired") and b.get("paired") and a["ok"] == a["runs"] == b["ok"] == b["runs"]
            and a["runs"] > 0):
        return statistics.median(x / y for x, y in zip(a["walls_s"], b["walls_s"],
                                                       strict=True)), "paired runs"
    x, y = a.get("median_s"), b.get("median_s")
    return (x / y if x and y else None), "ratio of medians"


def ratios(res: dict, style: str) -> list[dict]:
    t = TARGETS[style]
    least, most, unchanged, edited = t.peer, t.floor, t.no_change, t.one_edit
    out = []
    sizes = sorted(int(s) for s in res)

    def add(name: str, value: float | None, target: str, ok: bool | None, note: str = "") -> None:
        out.append({"ratio": name, "value": value, "target": target, "met": ok, "note": note})

    def cpu_note(n: int, num: str, den: str) -> str:
        a, b = cpu(res, n, num), cpu(res, n, den)
        return f"CPU-time ratio {a / b:.3g}" if a and b else ""

    for n in sizes:
        cold, peer = med(res, n, "cold"), med(res, n, "peer")
        x = peer / cold if peer and cold else None
        add(f"{n}: peer / cold (speed-up)", x, f">= {least}", x >= least if x else None,
            cpu_note(n, "peer", "cold"))
        x, how = paired(res, n, "cold", "floor-pyromark")
        add(f"{n}: cold / floor-pyromark", x, f"<= {most}", x <= most if x else None,
            f"{how}; {cpu_note(n, 'cold', 'floor-pyromark')}")
        x, how = paired(res, n, "cold-pyromark-writer", "floor-pyromark")
        add(f"{n}: cold-pyromark-writer / floor-pyromark", x, "(a bound)", None,
            f"{how}; were the writer compiled, the cold build would be about this; "
            + cpu_note(n, "cold-pyromark-writer", "floor-pyromark"))
        x, how = paired(res, n, "no-change", "cold")
        add(f"{n}: no-change / cold", x, f"< {unchanged}",
            x < unchanged if x is not None else None,
            f"{how}; {cpu_note(n, 'no-change', 'cold')}")
        x, how = paired(res, n, "one-edit", "cold")
        add(f"{n}: one-edit / cold", x, f"< {edited}", x < edited if x is not None else None,
            f"{how}; {cpu_note(n, 'one-edit', 'cold')}")
    big = max((n for n in sizes if rss(res, n, "cold")), default=None)
    note = "" if big == 20000 else f"largest size measured is {big}, not 20000"
    for label, get in (("peak RSS (largest process)", rss), ("peak PSS (process tree)", pss)):
        base = get(res, 5000, "floor-pyromark")
        if big is None or not base:
            continue
        peak = max(get(res, big, k) or 0 for k in ("cold", "no-change", "one-edit"))
        add(f"{label}: anki-export@{big} / floor-pyromark@5000", peak / base, "< 2",
            peak / base < 2 if big == 20000 else None, note)
    helps = [med(res, n, "help") for n in sizes if med(res, n, "help")]
    if helps:
        h = statistics.median(helps) * 1000
        add("anki-export --help (ms)", h, "< 150", h < 150)
    return out


def fmt_s(x: float | None) -> str:
    return "—" if x is None else (f"{x:.3f}" if x < 10 else f"{x:.1f}")


def print_report(res: dict, machine: dict, style: str) -> None:
    print(f"\nmachine: {machine['nproc']} cores, Python {machine['python']}, {machine['cpu']}; "
          f"load before: {machine['loadavg']}")
    print(f"anki-export: {machine['anki_export']}\n")
    print("| notes | measurement | median s | min–max s | CPU s | peak RSS MiB | tree PSS MiB "
          "| cards | decks | load |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in sorted(int(s) for s in res):
        for key in MEASURES:
            m = res[str(n)].get(key)
            if not m:
                continue
            if "skipped" in m:
                print(f"| {n} | {key} | skipped: {m['skipped']} | | | | | | | |")
                continue
            if m.get("error"):
                print(f"| {n} | {key} | FAILED: {m['error'][:160]!r} | | | | | | | |")
                continue
            rng = f"{fmt_s(m['min_s'])}–{fmt_s(m['max_s'])}" if m["runs"] > 1 else ""
            print(f"| {n} | {key} (×{m['ok']}) | {fmt_s(m['median_s'])} | {rng} | "
                  f"{fmt_s(m['cpu_median_s'])} | {m['rss_mib']:.0f} | "
                  f"{m['tree_pss_mib'] or 0:.0f} | {m.get('cards') or ''} | "
                  f"{m.get('decks') or ''} | {m['load1_max']} |")
    sizes = [n for n in sorted(int(s) for s in res) if res[str(n)].get("shares")]
    if sizes:
        print(f"\nvault style {style}: % of notes holding each construct")
        print("| construct | " + " | ".join(f"{n} notes" for n in sizes) + " |")
        print("|---|" + "---:|" * len(sizes))
        for key in res[str(sizes[0])]["shares"]:
            print(f"| {key} | " + " | ".join(f"{res[str(n)]['shares'].get(key, 0):.1f}"
                                              for n in sizes) + " |")
    print(f"\n| ratio ({TARGETS[style].issue}'s targets) | value | target | met |")
    print("|---|---:|---|---|")
    for r in ratios(res, style):
        v = "—" if r["value"] is None else f"{r['value']:.3g}"
        met = {True: "yes", False: "NO", None: "n/a"}[r["met"]]
        note = f" — {r['note']}" if r["note"] else ""
        print(f"| {r['ratio']} | {v} | {r['target']} | {met}{note} |")
    print("\n" + TARGETS_TEXT)


def machine_info(anki_export: list[str]) -> dict:
    cpu = "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    py = interpreter_of(anki_export)
    pyver = subprocess.run([py, "-c", "import sys; print(sys.version.split()[0])"],
                           capture_output=True, text=True).stdout.strip()
    version = run_once([*anki_export, "--version"])["stdout"].strip()
    return {"nproc": os.cpu_count(), "python": pyver, "cpu": cpu, "platform": platform.platform(),
            "loadavg": " ".join(f"{x:.2f}" for x in os.getloadavg()),
            "anki_export": f"{' '.join(anki_export)} ({version})",
            "date": time.strftime("%Y-%m-%d %H:%M:%S %z")}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=TARGETS_TEXT)
    ap.add_argument("--sizes", default="1000,5000,20000",
                    help="comma-separated note counts [%(default)s]")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement [%(default)s]")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--style", choices=sorted(WRITERS), default="realistic",
                    help="the notes make_vault.py writes [%(default)s]; synthetic: the vaults "
                         "of the figures before issue 22")
    ap.add_argument("--measure", default=",".join(MEASURES),
                    help="comma-separated subset of: " + ", ".join(MEASURES))
    ap.add_argument("--skip", default="", help="comma-separated measurements to leave out")
    ap.add_argument("--anki-export", help="command to run anki-export [beside this Python]")
    ap.add_argument("--floor-python", default=sys.executable,
                    help="Python with genanki, pyyaml, pyromark, markdown-it-py [this one]")
    ap.add_argument("--peer-venv", default="/tmp/anki-export-bench-peer",
                    help="venv for mdankideck, made on first use [%(default)s]")
    ap.add_argument("--peer-max", type=int, default=5000,
                    help="largest vault the peer runs on (it takes minutes) [%(default)s]")
    ap.add_argument("--peer-repeat", type=int, default=0,
                    help="runs of the peer [--repeat up to 1000 notes, then 1: it takes minutes]")
    ap.add_argument("--tmpdir", help="TMPDIR for every measured process [inherited]; genanki, "
                    "which the peer and the floor use, makes its database there")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per run [%(default)s]")
    ap.add_argument("--workdir", help="where vaults go [a new temp folder]")
    ap.add_argument("--keep", action="store_true", help="keep the vaults and outputs")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--merge", action="append", default=[],
                    help="results JSON of an earlier run: its sizes not measured now are added "
                         "to the report and the ratios (repeatable)")
    args = ap.parse_args(argv)
    args.measure = [m for m in args.measure.split(",") if m]
    args.skip = [m for m in args.skip.split(",") if m]
    unknown = set(args.measure + args.skip) - set(MEASURES)
    if unknown:
        ap.error(f"unknown measurement(s): {', '.join(sorted(unknown))}")
    sizes = [int(s) for s in args.sizes.split(",") if s]

    anki_export = find_anki_export(args.anki_export)
    machine = machine_info(anki_export)
    log(f"machine: {machine}")
    peer, peer_note = None, "not measured"
    if "peer" in args.measure and "peer" not in args.skip and min(sizes) <= args.peer_max:
        peer, peer_note = ensure_peer(Path(args.peer_venv))
        log(f"peer: {peer_note}")
        if peer is None:
            log(f"peer: SKIPPED — {peer_note}")

    if args.tmpdir:
        os.environ["TMPDIR"] = args.tmpdir
    work = Path(args.workdir or tempfile.mkdtemp(prefix="anki-export-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict] = {}
    for path in args.merge:
        earlier = json.loads(Path(path).read_text())
        results.update(earlier.get("results", {}))
    for n in sizes:
        results[str(n)] = bench_size(n, args, work, anki_export, peer, peer_note)
        if args.json:  # after every size, so a long run that is stopped keeps what it measured
            Path(args.json).write_text(json.dumps(
                {"machine": machine, "args": vars(args), "results": results,
                 "ratios": ratios(results, args.style)}, indent=1))
    if not args.keep and not args.workdir:
        shutil.rmtree(work, ignore_errors=True)
    print_report(results, machine, args.style)
    return 0


if __name__ == "__main__":
    sys.exit(main())
