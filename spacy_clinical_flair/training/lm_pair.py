"""Training the forward and the backward character LM side by side, one process each."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional, Sequence

from .lm import DIRECTIONS, Direction, LMResult, _read, lm_result_summary, read_lm_result, train_lm
from .lm_corpus import corpus_summary

if TYPE_CHECKING:
    from confection import Config


class LMTrainingFailed(RuntimeError):
    """One of the two LM trainings of :func:`train_lm_pair` failed; ``logs`` has its log file."""

    def __init__(self, directions: Sequence[str], logs: Dict[str, Path]) -> None:
        tails = []
        for direction in directions:
            lines = logs[direction].read_text(encoding="utf-8", errors="replace").splitlines()
            tails.append(f"--- {direction} ({logs[direction]}):\n" + "\n".join(lines[-5:]))
        super().__init__(f"the {' and '.join(directions)} LM training failed\n" + "\n".join(tails))
        self.logs = logs


def train_lm_pair(config: "Config", output: Path, bases: Optional[Dict[str, Optional[str]]] = None,
                  resume: bool = False, threads: int = 0,
                  on_progress: Optional[Callable[[str, str], None]] = None,
                  every_seconds: float = 30.0) -> Dict[str, LMResult]:
    """Train the forward and the backward LM side by side, one process each, into ``output/forward`` and
    ``output/backward`` (on 2 cores about 1.3x the characters per second of one after the other).

    Each process gets ``threads`` torch threads (default: half the cores) and logs to
    ``output/train-lm-DIRECTION.log``; ``on_progress(direction, line)`` gets each new end-of-split line.
    Interrupting the caller stops both processes. A failed process raises :class:`LMTrainingFailed`.
    """
    import multiprocessing
    import os

    bases = bases or {}
    threads = threads or max(1, (os.cpu_count() or 2) // 2)
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited torch threads or locks
    logs: Dict[str, Path] = {direction: output / f"train-lm-{direction}.log" for direction in DIRECTIONS}
    processes: Dict[str, Any] = {direction: context.Process(
        target=_train_direction_process, name=f"train-lm-{direction}",
        args=(config.to_str(), str(output / direction), direction, bases.get(direction), resume, threads,
              str(logs[direction]))) for direction in DIRECTIONS}
    for process in processes.values():
        process.start()
    try:
        _follow(processes, output, on_progress, every_seconds)
    finally:  # Ctrl-C (or any error) here must not leave the two trainings running
        for process in processes.values():
            if process.is_alive():
                process.terminate()
            process.join()
    failed = [direction for direction, process in processes.items() if process.exitcode != 0]
    if failed:
        raise LMTrainingFailed(failed, logs)
    return {direction: read_lm_result(output / direction / "lm-result.json") for direction in DIRECTIONS}


def _train_direction_process(config_text: str, output: str, direction: Direction, base: Optional[str],
                             resume: bool, threads: int, log: str) -> None:
    """Child process of :func:`train_lm_pair`: everything it prints goes to ``log``."""
    import os
    import sys

    from confection import Config

    handle = open(log, "w", encoding="utf-8")
    os.dup2(handle.fileno(), 1)
    os.dup2(handle.fileno(), 2)
    sys.stdout = sys.stderr = handle
    try:
        result = train_lm(Config().from_str(config_text), Path(output), direction, base, resume, threads,
                          on_corpus=lambda info: print(corpus_summary(info), flush=True))
        print(lm_result_summary(direction, result), flush=True)
    except BaseException as err:  # the parent reads the reason from the log
        print(f"error: {type(err).__name__}: {err}", flush=True)
        handle.flush()
        os._exit(1)
    handle.flush()


def _follow(processes: Dict[str, Any], output: Path, on_progress, every_seconds: float) -> None:
    """Until both processes end, report each one's newest end-of-split line as it appears."""
    import time

    shown = {direction: "" for direction in processes}
    last = time.monotonic()
    while any(process.is_alive() for process in processes.values()):
        time.sleep(0.5)
        if on_progress is None or time.monotonic() - last < every_seconds:
            continue
        last = time.monotonic()
        for direction in processes:
            loss = output / direction / "loss.txt"
            lines = [line for line in _read(loss).splitlines() if "end of split" in line]
            if lines and lines[-1] != shown[direction]:
                shown[direction] = lines[-1]
                on_progress(direction, lines[-1][lines[-1].index("end of split"):].strip())
