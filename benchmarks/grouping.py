"""Benchmark workflows.grouping.form_groups.

Run from the repository root:  python benchmarks/grouping.py [--runs N]

Rosters of 1,000, 200 and 40 participants over 12 departments of uneven sizes, groups of
4-6, first without constraints (target: 1,000 people under 50 ms, at the optimum), then with
a realistic handful of constraints (keep-apart pairs, keep-together pairs, pins), for
information. Prints best and median wall time (time.perf_counter), the mix score and its
optimum.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workflows.grouping import GroupingRules, Member, form_groups  # noqa: E402

DEPARTMENTS = [
    "marketing", "cx", "sales", "finance", "legal", "communication", "after_sales", "product",
    "support", "it", "hr", "operations",
]


def make_roster(n: int, rng: random.Random) -> list[Member]:
    """n people over 12 departments with uneven (Zipf-like) head-counts."""
    weights = [1 / (rank + 1) for rank in range(len(DEPARTMENTS))]
    return [Member(f"U{i:05d}", rng.choices(DEPARTMENTS, weights)[0]) for i in range(n)]


def make_constraints(members: list[Member], rng: random.Random) -> GroupingRules:
    """About one keep-apart pair per 20 people, one keep-together per 50, one pin per 100."""
    n = len(members)
    ids = [m.id for m in members]
    apart = tuple(tuple(rng.sample(ids, 2)) for _ in range(max(1, n // 20)))
    used = {x for pair in apart for x in pair}
    free = [i for i in ids if i not in used]
    together = tuple(tuple(rng.sample(free, 2)) for _ in range(max(1, n // 50)))
    groups = -(-n // 6)
    pins = {i: rng.randrange(groups) for i in rng.sample(free, max(1, n // 100))}
    return GroupingRules(keep_apart=apart, keep_together=together, pins=pins)


def measure(members: list[Member], rules: GroupingRules, runs: int) -> tuple[list[float], object]:
    times, plan = [], None
    for run in range(runs):
        start = time.perf_counter()
        plan = form_groups(members, rules, seed=run,
                           customer_types=["Young urban professionals", "Families", "Seniors"],
                           channel_focuses=["online", "offline", "cross_channel", "omnichannel"])
        times.append(time.perf_counter() - start)
    return times, plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    rng = random.Random(2024)
    print(f"{'case':<28}{'best ms':>9}{'median ms':>11}{'groups':>8}{'score':>7}"
          f"{'optimum':>9}  notes")
    for n in (1000, 200, 40):
        members = make_roster(n, rng)
        for label, rules in (("no constraints", GroupingRules()),
                             ("with constraints", make_constraints(members, rng))):
            times, plan = measure(members, rules, args.runs)
            notes = ", ".join(p.code for p in plan.problems + plan.warnings) or "-"
            print(f"{f'{n} people, {label}':<28}{min(times) * 1e3:>9.2f}"
                  f"{statistics.median(times) * 1e3:>11.2f}{len(plan.groups):>8}"
                  f"{plan.score:>7}{plan.optimum:>9}  {notes}")


if __name__ == "__main__":
    main()
