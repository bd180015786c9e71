"""Run a task over many items on every core, in forked worker processes.

The workers are forked after the task is set, so they inherit it (and the vault it reads)
instead of receiving it pickled. Each worker pickles its results itself, one pickle per item:
the main process unpickles each once and can keep the bytes (the render cache stores them).
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from itertools import islice
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

PARALLEL_FROM = 150  # items before worker processes pay for their start-up
_CHUNK = 40
_task: Callable[[int], Any] | None = None  # inherited by the workers


def forked_map(task: Callable[[int], Any], indices: Sequence[int], *,
               before_fork: Callable[[], None] | None = None
               ) -> Iterator[tuple[Any, bytes | None]]:
    """`(task(i), its pickle or None)` for each index, in order: in worker processes (one per
    core) when there are many, else here, without pickling. The workers are forked here, at
    the call, while the caller runs no other thread (a fork copies none but the calling one),
    and after `before_fork` has loaded what every worker would otherwise load on its own."""
    workers = min(os.cpu_count() or 1, 8)
    if len(indices) < PARALLEL_FROM or workers < 2 or not hasattr(os, "fork"):
        return ((task(i), None) for i in indices)
    if before_fork is not None:
        before_fork()
    import multiprocessing as mp  # here: an update of a few notes never forks
    from concurrent.futures import ProcessPoolExecutor

    global _task
    _task = task
    gc.freeze()  # the workers' collector then never walks (and so copies) the inherited heap
    chunks = iter([indices[i : i + _CHUNK] for i in range(0, len(indices), _CHUNK)])
    pool = ProcessPoolExecutor(workers, mp_context=mp.get_context("fork"),
                               initializer=_leave_interrupts_to_the_main_process)
    # A few chunks ahead per worker, not all: results wait in memory until taken.
    pending = deque(pool.submit(_run_chunk, c) for c in islice(chunks, 3 * workers))
    return _results(pool, chunks, pending)


def _results(pool: ProcessPoolExecutor, chunks: Iterator[Sequence[int]],
             pending: deque[Future[bytes]]) -> Iterator[tuple[Any, bytes | None]]:
    global _task
    try:
        while pending:
            data = pending.popleft().result()
            pending.extend(pool.submit(_run_chunk, c) for c in islice(chunks, 1))
            yield from ((pickle.loads(item), item) for item in pickle.loads(data))
    finally:
        pool.shutdown(cancel_futures=True)
        _task = None
        gc.unfreeze()


def _leave_interrupts_to_the_main_process() -> None:
    """Ctrl-C reaches every process of the group: the main one stops the build and its pool;
    a worker would only print a traceback of its own."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_chunk(indices: Sequence[int]) -> bytes:
    assert _task is not None
    return pickle.dumps([pickle.dumps(_task(i), protocol=pickle.HIGHEST_PROTOCOL)
                         for i in indices], protocol=pickle.HIGHEST_PROTOCOL)
