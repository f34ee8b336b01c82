"""Idle resident memory of `journeybot serve` (a benchmark, not a test).

Starts `journeybot serve` with no Slack token (so it serves against the offline sandbox)
in a temporary folder, waits for /healthz, lets it idle, and reads VmRSS from /proc.

    python benchmarks/serve_rss.py [--idle 5]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--idle", type=float, default=5.0)
    args = parser.parse_args()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    env.update(PORT=str(port), DATABASE_URL="")
    with tempfile.TemporaryDirectory() as tmp:
        process = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1"],
                                   cwd=tmp, env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        try:
            deadline = time.time() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                        break
                except OSError:
                    if time.time() > deadline or process.poll() is not None:
                        raise SystemExit("journeybot serve did not start") from None
                    time.sleep(0.2)
            time.sleep(args.idle)
            print(f"journeybot serve idle RSS after {args.idle:.0f} s: "
                  f"{rss_mib(process.pid):.1f} MiB")
        finally:
            process.terminate()
            process.wait(timeout=10)


if __name__ == "__main__":
    main()
