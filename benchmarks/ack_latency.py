"""Ack latency of `/journey help` through the app's real HTTP endpoint (a benchmark, not a test).

Sends N signed slash commands one at a time (concurrency 1) over loopback and reports the
round-trip time each took to be acknowledged (HTTP 200), which includes signature
verification, Bolt routing and our ack function; the reply itself is sent afterwards.

    python benchmarks/ack_latency.py [--requests 500]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import urllib.parse
from pathlib import Path

from slack_bolt.request import BoltRequest

from bot.offline import OfflineSlack


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, \
            OfflineSlack(f"sqlite:///{Path(tmp) / 'bench.db'}") as slack:
        slack.sandbox.add_user("UBENCH", "bench", locale="en-US")
        for _ in range(20):  # warm-up (users.info cached, connections open)
            slack.driver.command("UBENCH", "help", channel_id="C1")
        slack.settle()
        samples = []
        for _ in range(args.requests):
            start = time.perf_counter()
            reply = slack.driver.command("UBENCH", "help", channel_id="C1")
            samples.append((time.perf_counter() - start) * 1000)
            assert reply.status == 200
            slack.settle()  # c=1: the next request starts once the reply has been sent
        samples.sort()

        def pct(p: float) -> float:
            return samples[min(len(samples) - 1, int(p * len(samples)))]

        print(f"/journey help ack round trip over HTTP, c=1, n={len(samples)}: "
              f"p50 {statistics.median(samples):.2f} ms, p95 {pct(0.95):.2f} ms, "
              f"p99 {pct(0.99):.2f} ms, max {samples[-1]:.2f} ms")

        # The app's own share: signature check + Bolt routing + our ack, without HTTP.
        body = urllib.parse.urlencode({"command": "/journey", "text": "help",
                                       "user_id": "UBENCH", "team_id": slack.team_id,
                                       "channel_id": "C1", "trigger_id": "t"}).encode()
        app_samples = []
        for _ in range(args.requests):
            request = BoltRequest(body=body.decode(), headers=slack.driver.sign(body))
            start = time.perf_counter()
            response = slack.app.dispatch(request)
            app_samples.append((time.perf_counter() - start) * 1000)
            assert response.status == 200
            slack.settle()
        app_samples.sort()
        print(f"/journey help ack inside the app (app.dispatch), n={len(app_samples)}: "
              f"p50 {statistics.median(app_samples):.3f} ms, "
              f"p99 {app_samples[int(0.99 * len(app_samples))]:.3f} ms")


if __name__ == "__main__":
    main()
