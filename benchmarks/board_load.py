"""Load benchmark for the board (a script, not a test).

200 simulated participants post 10 post-its each with quick-add slash commands, from
client threads, through the app's real HTTP endpoint (threaded WSGI server), against the
sandbox with Slack's rate tiers on and the product's real board timings (2 s per board,
2.2 s quiet). The same load is then sent to a bare Bolt app that only acks
(process_before_response=True) on the same server. Printed in one table.

    python benchmarks/board_load.py [--people 200] [--posts 10] [--threads 16]
"""

from __future__ import annotations

import argparse
import gc
import random
import re
import statistics
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

from slack_bolt import App
from slack_sdk import WebClient
from sqlalchemy import func, select

from bot.offline import OfflineSlack
from bot.sandbox import SlackDriver, SlackSandbox
from bot.web import HttpServer, JourneybotWSGI
from storage.models import PostIt

DEPARTMENTS = ["marketing", "cx", "sales", "finance", "legal", "after_sales", "product",
               "support"]
KINDS = ["step", "action", "pain", "opportunity", "kpi"]
STAGES = ["awareness", "consideration", "purchase", "retention", "advocacy"]


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def run_load(driver: SlackDriver, jobs: list[tuple[str, str, str]], threads: int
             ) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()

    def send(job):
        nonlocal failures
        user, channel, text = job
        start = time.perf_counter()
        reply = driver.command(user, text, channel_id=channel)
        elapsed = (time.perf_counter() - start) * 1000
        with lock:
            latencies.append(elapsed)
            if reply.status != 200:
                failures += 1

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(send, jobs))
    return time.perf_counter() - start, latencies, failures


def setup(slack: OfflineSlack, people: int) -> dict[str, str]:
    sb, d = slack.sandbox, slack.driver
    sb.add_user("UFAC", "fac", locale="en-US")
    channel = sb.add_channel("workshop", members=["UFAC"])
    d.command("UFAC", "new", channel_id=channel)
    slack.settle()
    day1 = date.today() + timedelta(days=7)
    d.submit_view("UFAC", {"name": "Load test", "channel": channel, "timezone": "Europe/Paris",
                           "day1_date": day1.isoformat(),
                           "day2_date": (day1 + timedelta(days=1)).isoformat()})
    slack.settle()
    kickoff = {**next(m for m in sb.messages(channel) if m.get("blocks")), "channel": channel}
    for n in range(people):
        user = f"U{n:05d}"
        sb.add_user(user, user.lower(), locale="fr-FR" if n % 2 else "en-US")
        d.click(user, "workshop.join", message=kickoff)
        slack.settle()
        d.submit_view(user, {"department": DEPARTMENTS[n % len(DEPARTMENTS)]})
    slack.settle()
    d.command("UFAC", "groups", channel_id=channel)
    slack.settle()
    d.submit_view("UFAC", {})
    slack.settle()
    return {m: c["id"] for c in sb.channels.values()
            if c.get("is_private") and not c.get("is_im") for m in c["members"]
            if m.startswith("U0")}


def boards_complete(slack: OfflineSlack, expected: dict[str, int]) -> bool:
    for channel, count in expected.items():
        texts = [m.get("text") or "" for m in slack.sandbox.messages(channel)]
        shown = [int(x) for text in texts for x in re.findall(r"— (\d+) post-its", text)]
        if not shown or max(shown) != count:
            return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--posts", type=int, default=10)
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args()
    total = args.people * args.posts

    with tempfile.TemporaryDirectory() as tmp, OfflineSlack(
            f"sqlite:///{Path(tmp) / 'load.db'}", board_interval=2.0, board_quiet=2.2,
            real_rate_limits=True) as slack:
        members = setup(slack, args.people)
        jobs = [(user, channel,
                 f"add {KINDS[k % 5]} {STAGES[(k // 5) % 5]}: idea {k} from {user}")
                for k in range(args.posts) for user, channel in members.items()]
        random.Random(7).shuffle(jobs)  # 200 people typing at once: groups interleave
        expected = Counter(channel for _, channel, _ in jobs)
        slack.sandbox.reset_calls()
        slack.sandbox.set_rate_limits(True)
        gc.freeze()  # see run_load
        elapsed, latencies, failures = run_load(slack.driver, jobs, args.threads)
        last = time.perf_counter()
        complete_after = None
        while time.perf_counter() - last < 90:
            if boards_complete(slack, expected):
                complete_after = time.perf_counter() - last
                break
            time.sleep(0.05)
        slack.settle(120)
        calls = Counter(c.method for c in slack.sandbox.calls)
        throttled = sum(1 for c in slack.sandbox.calls if c.status == 429)
        with slack.services.db.sessions() as session:
            stored = session.scalar(select(func.count()).select_from(PostIt))
        ours = {"throughput": total / elapsed, "p50": statistics.median(latencies),
                "p99": percentile(latencies, 0.99), "failures": failures}

    # The same load against a bare Bolt app that only acks, on the same kind of server.
    with SlackSandbox() as sandbox:
        for user in members:
            sandbox.add_user(user, user.lower())
        bare = App(signing_secret="bare-secret", process_before_response=True,
                   client=WebClient(token="xoxb-bare", base_url=sandbox.api_url))
        bare.command("/journey")(lambda ack: ack())
        server = HttpServer(JourneybotWSGI(bare)).start()
        driver = SlackDriver(f"{server.url}/slack/events", "bare-secret", sandbox)
        gc.collect()
        gc.freeze()
        b_elapsed, b_latencies, b_failures = run_load(driver, jobs, args.threads)
        server.stop()
    theirs = {"throughput": total / b_elapsed, "p50": statistics.median(b_latencies),
              "p99": percentile(b_latencies, 0.99), "failures": b_failures}

    print(f"\n{args.people} participants × {args.posts} post-its = {total} quick-add commands, "
          f"{args.threads} client threads, {len(expected)} group boards, rate tiers on\n")
    print("| | journeybot | bare Bolt app (ack only) |")
    print("|---|---|---|")
    print(f"| throughput | {ours['throughput']:.0f} req/s | {theirs['throughput']:.0f} req/s "
          f"(journeybot = {100 * ours['throughput'] / theirs['throughput']:.0f}%) |")
    print(f"| ack p50 | {ours['p50']:.1f} ms | {theirs['p50']:.1f} ms |")
    print(f"| ack p99 | {ours['p99']:.1f} ms | {theirs['p99']:.1f} ms |")
    print(f"| non-200 answers | {ours['failures']} | {theirs['failures']} |")
    print(f"| Web API calls during the load | {dict(calls)} | — |")
    print(f"| HTTP 429 from the sandbox | {throttled} | — |")
    shown = f"{complete_after:.2f} s" if complete_after is not None else "not within 90 s"
    print(f"| every board shows every post-it | {shown} after the last ack | — |")
    print(f"| post-its lost | {total - stored} (stored {stored}/{total}) | — |")


if __name__ == "__main__":
    main()
