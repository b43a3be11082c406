"""Measured memory and CPU time of a run, for the benchmark.

The compiled program runs as a child process, so the figures that matter are this
process's plus its children's: resident memory, sampled while the run goes on, and
CPU time.
"""
import resource
import threading

import psutil


def resident_bytes(process=None):
    """Resident memory of ``process`` (default: this one) and all its descendants."""
    process = process or psutil.Process()
    total = 0
    for member in [process] + process.children(recursive=True):
        try:
            total += member.memory_info().rss
        except psutil.Error:    # ended between listing and reading
            pass
    return total


class PeakMemory:
    """Samples ``resident_bytes`` every ``interval`` seconds inside a ``with``
    block; ``peak`` is the largest sample (bytes)."""

    def __init__(self, interval=0.05):
        self.interval, self.peak = interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        while True:
            self.peak = max(self.peak, resident_bytes())
            if self._stop.wait(self.interval):
                return

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, resident_bytes())


class CpuTime:
    """CPU time (user + system, seconds) spent inside a ``with`` block by this
    process and by the child processes that ended in it (the compiled program runs
    as one, waited for by Brian): unlike wall time, a busy machine does not inflate
    it. ``seconds`` is set when the block ends."""

    def __enter__(self):
        self._start = _cpu_seconds()
        self.seconds = None
        return self

    def __exit__(self, *exc_info):
        self.seconds = _cpu_seconds() - self._start


def _cpu_seconds():
    return sum(usage.ru_utime + usage.ru_stime
               for usage in (resource.getrusage(resource.RUSAGE_SELF),
                             resource.getrusage(resource.RUSAGE_CHILDREN)))
