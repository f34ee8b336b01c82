"""Load benchmark for the board (a script, not a test).

200 simulated participants post 10 post-its each with quick-add slash commands, from
client threads, through the app's real HTTP endpoint (threaded WSGI server), against the
sandbox with Slack's rate tiers on and the product's real board timings (2 s per board,
2.2 s quiet). The same load is then sent to a bare Bolt app that only acks
(process_before_response=True) on the same server. Printed in one table.

The client threads play Slack's HTTP client only: each command is prepared before the burst
(form, trigger id, response URL) and its reply shown in the sandbox after it, for both apps
alike. Slack does that work on its own servers; here it shares the process (and the GIL)
with the server, and the bare app's empty acks have no reply to show, so doing it inside
the burst charged it to journeybot alone.

    python benchmarks/board_load.py [--people 200] [--posts 10] [--threads 16] [--rounds 3]
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
from bot.sandbox import PreparedCommand, SlackDriver, SlackSandbox
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
    """The burst, as Slack sends it: every command is prepared first (Slack's own work:
    the form, a trigger id, a response URL), then the client threads only sign and POST.
    A latency is one command's sign + HTTP round trip, the time Slack holds against its 3 s.
    The replies are shown in the sandbox after the burst (Slack's work too, done on its
    side, not in the app's process): a reply Slack would refuse counts as a failure."""
    prepared = [driver.prepare_command(user, text, channel_id=channel)
                for user, channel, text in jobs]
    latencies: list[float] = []
    replies = []
    lock = threading.Lock()

    def send(command: PreparedCommand):
        start = time.perf_counter()
        reply = driver.send_command(command)
        elapsed = (time.perf_counter() - start) * 1000
        with lock:
            latencies.append(elapsed)
            replies.append((command, reply))

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(send, prepared))
    elapsed = time.perf_counter() - start
    failures = 0
    for command, reply in replies:
        driver.show_reply(command, reply)
        failures += reply.status != 200 or reply.slack_error is not None
    return elapsed, latencies, failures


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


def run_ours(args) -> dict:
    """One round against journeybot: a fresh workshop (SQLite file, sandbox with rate
    tiers), the burst, then until every board shows every post-it."""
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
        freeze_setup()
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
    gc.unfreeze()
    return {"throughput": total / elapsed, "latencies": latencies, "failures": failures,
            "calls": calls, "throttled": throttled, "complete_after": complete_after,
            "stored": stored, "boards": len(expected), "jobs": jobs}


def run_bare(args, jobs) -> dict:
    """The same burst against a bare Bolt app that only acks, on the same kind of server."""
    total = len(jobs)
    with SlackSandbox() as sandbox:
        for user in {user for user, _, _ in jobs}:
            sandbox.add_user(user, user.lower())
        bare = App(signing_secret="bare-secret", process_before_response=True,
                   client=WebClient(token="xoxb-bare", base_url=sandbox.api_url))
        bare.command("/journey")(lambda ack: ack())
        server = HttpServer(JourneybotWSGI(bare)).start()
        driver = SlackDriver(f"{server.url}/slack/events", "bare-secret", sandbox)
        freeze_setup()
        elapsed, latencies, failures = run_load(driver, jobs, args.threads)
        server.stop()
    gc.unfreeze()
    return {"throughput": total / elapsed, "latencies": latencies, "failures": failures}


def freeze_setup() -> None:
    """The simulated participants and the sandbox share this process with the server (in
    production they don't): what each round set up is moved out of the collector's way,
    for both apps alike, so a full collection of it doesn't land in one run's tail."""
    gc.collect()
    gc.freeze()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--posts", type=int, default=10)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3,
                        help="journeybot and the bare app alternate, a fresh workshop each "
                             "round; the table shows the medians (a 2-core machine is noisy)")
    args = parser.parse_args()
    total = args.people * args.posts

    rounds = []
    for n in range(args.rounds):
        ours = run_ours(args)
        theirs = run_bare(args, ours["jobs"])
        rounds.append((ours, theirs))
        print(f"round {n + 1}: journeybot {ours['throughput']:.0f} req/s, "
              f"p99 {percentile(ours['latencies'], 0.99):.1f} ms; bare "
              f"{theirs['throughput']:.0f} req/s, p99 {percentile(theirs['latencies'], 0.99):.1f}"
              f" ms ({100 * ours['throughput'] / theirs['throughput']:.0f}%); boards complete "
              f"after {ours['complete_after'] or float('nan'):.2f} s", flush=True)

    def median_of(side: int, f) -> float:
        return statistics.median(f(r[side]) for r in rounds)

    ours_tp = median_of(0, lambda r: r["throughput"])
    bare_tp = median_of(1, lambda r: r["throughput"])
    p50 = [median_of(side, lambda r: statistics.median(r["latencies"])) for side in (0, 1)]
    p99 = [median_of(side, lambda r: percentile(r["latencies"], 0.99)) for side in (0, 1)]
    calls = sum((r[0]["calls"] for r in rounds), Counter())
    throttled = sum(r[0]["throttled"] for r in rounds)
    completes = [r[0]["complete_after"] for r in rounds]
    stored = sum(r[0]["stored"] for r in rounds)
    failures = [sum(r[side]["failures"] for r in rounds) for side in (0, 1)]

    print(f"\n{args.people} participants × {args.posts} post-its = {total} quick-add commands "
          f"a round, {args.rounds} rounds (medians), {args.threads} client threads, "
          f"{rounds[0][0]['boards']} group boards, rate tiers on\n")
    print("| | journeybot | bare Bolt app (ack only) |")
    print("|---|---|---|")
    print(f"| throughput | {ours_tp:.0f} req/s | {bare_tp:.0f} req/s "
          f"(journeybot = {100 * ours_tp / bare_tp:.0f}%) |")
    print(f"| ack p50 | {p50[0]:.1f} ms | {p50[1]:.1f} ms |")
    print(f"| ack p99 | {p99[0]:.1f} ms | {p99[1]:.1f} ms |")
    print(f"| failed answers (not 200, or refused by Slack) | {failures[0]} | {failures[1]} |")
    print(f"| Web API calls, all rounds | {dict(calls)} | — |")
    print(f"| HTTP 429 from the sandbox | {throttled} | — |")
    shown = ("not within 90 s" if None in completes
             else f"{max(completes):.2f} s (worst round)")
    print(f"| every board shows every post-it | {shown} after the last ack | — |")
    print(f"| post-its lost | {args.rounds * total - stored} "
          f"(stored {stored}/{args.rounds * total}) | — |")


if __name__ == "__main__":
    main()
