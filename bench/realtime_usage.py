"""CPU and memory accounting for bench/realtime_bench.py (psutil): a quiet-box gate, and per
window the CPU of the bench's own processes, of the PostgreSQL backends of the bench's database,
and of everything else on the machine (other people's work on a shared box)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter

import psutil


def busy_cpu_s() -> float:
    """CPU seconds the whole machine has spent busy since boot (steal excluded: that is other
    virtual machines' time)."""
    t = psutil.cpu_times()
    return t.user + t.nice + t.system + t.irq + t.softirq


def irq_cpu_s() -> float:
    t = psutil.cpu_times()
    return t.irq + t.softirq


def proc_cpu_s(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return t.user + t.system


def wait_for_quiet(limit_cores: float, max_wait_s: float, window_s: float = 3.0) -> dict:
    """Wait (at most ``max_wait_s``) until the machine is busier than ``limit_cores`` no longer:
    a shared 2-core box must not be measured while someone's test suite runs."""
    started = time.monotonic()
    while True:
        before = busy_cpu_s()
        time.sleep(window_s)
        cores = (busy_cpu_s() - before) / window_s
        waited = time.monotonic() - started
        if cores <= limit_cores or waited >= max_wait_s:
            return {"busy_cores": round(cores, 2), "waited_s": round(waited, 1)}


def _all_cpu() -> dict[int, tuple[str, str, float]]:
    found = {}
    for proc in psutil.process_iter(["name", "cmdline", "cpu_times"]):
        info = proc.info
        if info["cpu_times"] is None:
            continue
        cmdline = " ".join(info["cmdline"] or [])
        found[proc.pid] = (info["name"], cmdline, info["cpu_times"].user + info["cpu_times"].system)
    return found


class Sampler:
    """Over a window: CPU seconds of the named processes, of the PostgreSQL backends serving
    ``database``, and of the rest of the machine; peak RSS of the named processes (4 Hz)."""

    def __init__(self, pids: dict[str, int], database: str | None = None):
        self.procs = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.database = database
        self.peak = dict.fromkeys(pids, 0)
        self.done = threading.Event()

    def _sample(self) -> None:
        while not self.done.wait(0.25):
            for name, proc in self.procs.items():
                with contextlib.suppress(psutil.Error):
                    self.peak[name] = max(self.peak[name], proc.memory_info().rss)

    def start(self) -> None:
        self.wall, self.busy, self.every = time.monotonic(), busy_cpu_s(), _all_cpu()
        self.irq = irq_cpu_s()
        self.cpu = {name: proc_cpu_s(p) for name, p in self.procs.items()}
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def stop(self) -> dict:
        cpu = {name: proc_cpu_s(p) - self.cpu[name] for name, p in self.procs.items()}
        busy, wall, every = busy_cpu_s() - self.busy, time.monotonic() - self.wall, _all_cpu()
        irq = irq_cpu_s() - self.irq
        self.done.set()
        self.thread.join()
        mine = set(self.procs.values()) | {psutil.Process()}
        postgres, others = self._split(every, {p.pid for p in mine})
        cpu["postgres"] = postgres
        own = sum(cpu.values()) + proc_cpu_s(psutil.Process())
        return {
            "wall_s": wall,
            "cpu_s": cpu,
            "rss_mb": {name: rss / 2**20 for name, rss in self.peak.items()},
            "other_cores": max(0.0, busy - irq - own) / wall,
            "irq_cores": irq / wall,
            "other_top": [(name, round(s / wall, 2)) for name, s in others.most_common(3)],
        }

    def _split(self, every: dict, mine: set[int]) -> tuple[float, Counter]:
        """CPU of this bench's PostgreSQL backends, and of the other processes by name."""
        postgres, others = 0.0, Counter()
        for pid, (name, cmdline, cpu) in every.items():
            if pid in mine:
                continue
            spent = cpu - self.every.get(pid, (name, cmdline, 0.0))[2]
            if self.database and self.database in cmdline:
                postgres += spent
            elif spent > 0.01:
                others[name] += spent
        return postgres, others
