"""The load benchmark still runs (a tiny load; its timings are not checked: benchmarks are
not tests) and loses nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "board_load.py"


def test_the_load_benchmark_runs_both_loads_and_loses_nothing():
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--people", "12", "--posts", "2", "--rounds", "1",
         "--saturation-rounds", "2", "--think", "0.05", "--threads", "4"],
        capture_output=True, text=True, timeout=120, cwd=SCRIPT.parents[1])
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "| participants: ack p99 |" in out and "| saturation: throughput |" in out
    assert "| post-its lost | 0 of 72 |" in out
    assert "| failed answers (not 200, or refused by Slack) | 0 | 0 | 0 |" in out
    assert "- 0 HTTP 429 from the sandbox: met" in out
    assert "rounds: 1 of participants and 2 of saturation" in out
    assert "(median of the rounds' paired ratios)" in out and "single rounds " in out
