"""What the benchmark measures: peak memory of a run (this process and the compiled
program, a child process) and Brian's per-object profile."""
import subprocess
import sys

from diehl_cook.engine import Engine
from diehl_cook.memory import PeakMemory, resident_bytes

MIB = 2 ** 20


def test_peak_memory_counts_the_child_process():
    before = resident_bytes()
    with PeakMemory(interval=0.02) as memory:
        subprocess.run([sys.executable, "-c",
                        "import time; block = bytearray(300 * 2 ** 20); time.sleep(1.0)"],
                       check=True)
    # The child held 300 MiB (plus its interpreter) on top of this process.
    assert memory.peak >= before + 300 * MIB
    assert resident_bytes() < memory.peak


def test_profiling_info_reads_brians_file_largest_first(tmp_path):
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "profiling_info.txt").write_text(
        "exc_stateupdater_codeobject 1.5\n"
        "input_exc_pre_codeobject 4.25\n"
        "inh_exc_pre_push_spikes 0.125\n")
    engine = object.__new__(Engine)   # an engine that has run, without compiling one
    engine.directory = str(tmp_path)
    assert engine.profiling_info() == [("input_exc_pre_codeobject", 4.25),
                                       ("exc_stateupdater_codeobject", 1.5),
                                       ("inh_exc_pre_push_spikes", 0.125)]
