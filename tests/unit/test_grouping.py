"""Tests for workflows.grouping: sizes, department mix, constraints, focuses, late joiners."""

from __future__ import annotations

import itertools
import math
import os
import random
import subprocess
import sys
from collections import Counter, deque
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from workflows.grouping import (
    Focus,
    GroupingRules,
    Member,
    Option,
    OptionCode,
    Problem,
    ProblemCode,
    assign_focuses,
    form_groups,
    mix_gaps,
    mix_score,
    optimal_mix_score,
    place_late_joiner,
    plan_sizes,
)

PROPERTY = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
CHANNELS = ["online", "offline", "cross_channel", "omnichannel"]


def roster(departments: list[int]) -> list[Member]:
    return [Member(f"m{i:03d}", f"dept{d}") for i, d in enumerate(departments)]


@st.composite
def rosters(draw: st.DrawFn, min_size: int = 0, max_size: int = 300) -> list[Member]:
    department_count = draw(st.integers(1, 12))
    n = draw(st.integers(min_size, max_size))  # lists() alone would favour short rosters
    departments = draw(st.lists(st.integers(0, department_count - 1), min_size=n, max_size=n))
    return roster(departments)


bounds = st.integers(1, 8).flatmap(lambda lo: st.tuples(st.just(lo), st.integers(lo, lo + 6)))


def codes(problems) -> list[str]:
    return [p.code for p in problems]


def group_index_of(plan) -> dict[str, int]:
    return {m.id: i for i, group in enumerate(plan.groups) for m in group}


def assert_partition(plan, members: list[Member]) -> None:
    placed = [m for group in plan.groups for m in group]
    assert Counter(placed) == Counter(members)


# --- oracles ---------------------------------------------------------------------------


def max_flow_mix(counts: list[int], sizes: list[int]) -> int:
    """Edmonds-Karp on source -> department (c_d) -> group (1) -> sink (s_g)."""
    d, g = len(counts), len(sizes)
    source, sink = d + g, d + g + 1
    cap: dict[tuple[int, int], int] = {}
    adj: dict[int, list[int]] = {v: [] for v in range(d + g + 2)}

    def edge(a: int, b: int, c: int) -> None:
        cap[(a, b)] = cap.get((a, b), 0) + c
        cap.setdefault((b, a), 0)
        adj[a].append(b)
        adj[b].append(a)

    for i, c in enumerate(counts):
        edge(source, i, c)
        for j in range(g):
            edge(i, d + j, 1)
    for j, s in enumerate(sizes):
        edge(d + j, sink, s)
    flow = 0
    while True:
        parent = {source: source}
        queue = deque([source])
        while queue and sink not in parent:
            a = queue.popleft()
            for b in adj[a]:
                if b not in parent and cap[(a, b)] > 0:
                    parent[b] = a
                    queue.append(b)
        if sink not in parent:
            return flow
        push, b = math.inf, sink
        while b != source:
            push, b = min(push, cap[(parent[b], b)]), parent[b]
        b = sink
        while b != source:
            cap[(parent[b], b)] -= push
            cap[(b, parent[b])] += push
            b = parent[b]
        flow += push


def brute_force_best(members: list[Member], sizes: list[int]) -> int:
    best = 0
    for labels in itertools.product(range(len(sizes)), repeat=len(members)):
        if all(labels.count(j) == s for j, s in enumerate(sizes)):
            groups = [[m for m, lab in zip(members, labels, strict=True) if lab == j]
                      for j in range(len(sizes))]
            best = max(best, mix_score(groups))
    return best


# --- sizes -----------------------------------------------------------------------------


def test_plan_sizes_matches_brute_force() -> None:
    for n in range(0, 70):
        for lo in range(1, 9):
            for hi in range(lo, 13):
                exists = any(g * lo <= n <= g * hi for g in range(1, n + 1))
                sizes = plan_sizes(n, lo, hi)
                assert (sizes is not None) == exists, (n, lo, hi)
                if sizes is not None:
                    assert sum(sizes) == n
                    assert all(lo <= s <= hi for s in sizes)
                    assert max(sizes) - min(sizes) <= 1
                    assert sizes == sorted(sizes, reverse=True)
                    assert len(sizes) == math.ceil(n / hi)  # fewest groups possible


def test_plan_sizes_invalid_bounds() -> None:
    assert plan_sizes(10, 0, 5) is None
    assert plan_sizes(10, 5, 4) is None
    assert plan_sizes(0, 4, 6) is None
    assert plan_sizes(-3, 4, 6) is None


def test_size_options_are_actionable() -> None:
    """Exhaustively, for every size problem, each option works when applied."""
    checked = 0
    for n in range(0, 61):
        for lo in range(1, 9):
            for hi in range(lo, lo + 7):
                if plan_sizes(n, lo, hi) is None:
                    check_size_options(n, lo, hi)
                    checked += 1
    assert checked > 100


def check_size_options(n: int, lo: int, hi: int) -> None:
    members = roster([i % 3 for i in range(n)])
    plan = form_groups(members, GroupingRules(lo, hi))
    assert not plan.feasible and plan.groups == ()
    assert codes(plan.problems) == (
        [ProblemCode.NOT_ENOUGH_PEOPLE] if n < lo else [ProblemCode.NO_VALID_SPLIT])
    by_code = {o.code: o.params for o in plan.options}
    wait = by_code[OptionCode.WAIT_FOR_MORE]
    assert plan_sizes(n + wait["missing"], lo, hi) == wait["sizes"]
    assert all(plan_sizes(n + j, lo, hi) is None for j in range(1, wait["missing"]))
    if OptionCode.STRETCH_MAX in by_code:
        params = by_code[OptionCode.STRETCH_MAX]
        assert params["max_size"] > hi
        again = form_groups(members, GroupingRules(lo, params["max_size"]))
        assert again.feasible and sorted(again.sizes, reverse=True) == params["sizes"]
    if OptionCode.STRETCH_MIN in by_code:
        params = by_code[OptionCode.STRETCH_MIN]
        assert params["min_size"] < lo
        again = form_groups(members, GroupingRules(params["min_size"], hi))
        assert again.feasible and sorted(again.sizes, reverse=True) == params["sizes"]
    assert (OptionCode.STRETCH_MIN in by_code) == (n > 0)
    assert (OptionCode.STRETCH_MAX in by_code) == (n >= lo)


# --- mix score -------------------------------------------------------------------------


@PROPERTY
@given(counts=st.lists(st.integers(0, 12), max_size=6),
       sizes=st.lists(st.integers(0, 12), max_size=6))
def test_optimal_mix_score_equals_max_flow(counts: list[int], sizes: list[int]) -> None:
    assert optimal_mix_score(counts, sizes) == max_flow_mix(counts, sizes)


@settings(max_examples=60, deadline=None)
@given(departments=st.lists(st.integers(0, 3), min_size=1, max_size=7), data=st.data())
def test_optimal_mix_score_equals_brute_force(departments: list[int], data) -> None:
    members = roster(departments)
    n = len(members)
    g = data.draw(st.integers(1, n))
    sizes = data.draw(st.lists(st.integers(0, n), min_size=g, max_size=g)
                      .filter(lambda s: sum(s) == n))
    counts = Counter(m.department for m in members)
    assert optimal_mix_score(counts, sizes) == brute_force_best(members, sizes)


def test_optimal_mix_score_examples() -> None:
    assert optimal_mix_score({"a": 3, "b": 1}, [2, 2]) == 3
    assert optimal_mix_score({"a": 2, "b": 2}, [3, 1]) == 3  # k = 1 term is the minimum
    assert optimal_mix_score([], []) == 0
    assert optimal_mix_score({"a": 5}, [3, 2]) == 2


def test_mix_gaps_checker() -> None:
    a1, a2, b1, c1 = Member("1", "a"), Member("2", "a"), Member("3", "b"), Member("4", "c")
    assert mix_gaps([[a1, a2], [b1, c1]]) == [("a", 0, 1)]
    assert mix_gaps([[a1, b1], [a2, c1]]) == []


# --- unconstrained grouping ------------------------------------------------------------


@PROPERTY
@given(members=rosters(), bound=bounds, seed=st.integers(0, 2**32))
def test_unconstrained_groups_are_balanced_and_optimal(members, bound, seed) -> None:
    lo, hi = bound
    rules = GroupingRules(lo, hi)
    plan = form_groups(members, rules, seed=seed)
    sizes = plan_sizes(len(members), lo, hi)
    if sizes is None:
        assert not plan.feasible and plan.groups == () and plan.options
        assert set(codes(plan.problems)) <= {ProblemCode.NOT_ENOUGH_PEOPLE,
                                              ProblemCode.NO_VALID_SPLIT}
        return
    assert plan.feasible and plan.problems == ()
    assert_partition(plan, members)
    assert sorted(plan.sizes, reverse=True) == sizes
    counts = Counter(m.department for m in members)
    assert plan.optimum == optimal_mix_score(counts, sizes)
    assert plan.score == mix_score(plan.groups) == plan.optimum
    assert plan.optimum == sum(min(c, len(sizes)) for c in counts.values())
    assert mix_gaps(plan.groups) == []
    assert (ProblemCode.SINGLE_DEPARTMENT in codes(plan.warnings)) == (len(counts) == 1)
    assert ProblemCode.CONSTRAINTS_REDUCE_MIX not in codes(plan.warnings)
    assert len(plan.focuses) == len(plan.groups)
    # Same seed, same people in any order -> same plan.
    assert form_groups(list(reversed(members)), rules, seed=seed) == plan


@settings(max_examples=40, deadline=None)
@given(departments=st.lists(st.integers(0, 3), min_size=4, max_size=7),
       bound=st.integers(1, 4).flatmap(lambda lo: st.tuples(st.just(lo), st.integers(lo, 5))))
def test_unconstrained_score_matches_brute_force(departments, bound) -> None:
    members = roster(departments)
    sizes = plan_sizes(len(members), *bound)
    assume(sizes is not None and len(sizes) <= 3)
    plan = form_groups(members, GroupingRules(*bound))
    assert plan.score == brute_force_best(members, sizes)


def test_group_count_forces_the_number_of_groups() -> None:
    members = roster([i % 5 for i in range(24)])
    plan = form_groups(members, GroupingRules(4, 6), group_count=5)
    assert plan.feasible and sorted(plan.sizes) == [4, 5, 5, 5, 5]
    counts = Counter(m.department for m in members)
    assert plan.score == plan.optimum == optimal_mix_score(counts, [5, 5, 5, 5, 4])


def test_reshuffle_gives_other_equally_good_groups() -> None:
    members = roster([i % 5 for i in range(30)] + [0, 0, 1])
    partitions = set()
    for seed in range(8):
        plan = form_groups(members, seed=seed)
        assert plan.feasible and plan.score == plan.optimum
        assert form_groups(members, seed=seed) == plan
        partitions.add(frozenset(frozenset(m.id for m in g) for g in plan.groups))
    assert len(partitions) >= 4
    assert form_groups(members, seed="reshuffle-1") == form_groups(members, seed="reshuffle-1")


def test_performance_case_is_optimal() -> None:
    rnd = random.Random(7)
    members = roster([rnd.choice(range(12)) for _ in range(1000)])
    plan = form_groups(members)
    assert plan.feasible and plan.score == plan.optimum and len(plan.groups) == 167


# --- constraints -----------------------------------------------------------------------


@st.composite
def constrained_cases(draw: st.DrawFn):
    """A roster, bounds and constraints built from a hidden valid split, so always feasible."""
    department_count = draw(st.integers(1, 12))
    n = draw(st.integers(1, 150))
    departments = draw(st.lists(st.integers(0, department_count - 1), min_size=n, max_size=n))
    lo = draw(st.integers(1, 6))
    hi = draw(st.integers(lo, lo + 4))
    sizes = plan_sizes(len(departments), lo, hi)
    assume(sizes is not None)
    members = roster(departments)
    rnd = random.Random(draw(st.integers(0, 2**32)))
    shuffled = members[:]
    rnd.shuffle(shuffled)
    witness, start = [], 0
    for s in sizes:
        witness.append(shuffled[start:start + s])
        start += s
    home = {m.id: i for i, group in enumerate(witness) for m in group}
    apart, together = [], []
    for _ in range(draw(st.integers(0, 15))):
        a, b = rnd.sample(members, 2) if len(members) > 1 else (members[0], members[0])
        if home[a.id] != home[b.id]:
            apart.append((a.id, b.id))
    for _ in range(draw(st.integers(0, 15))):
        group = rnd.choice(witness)
        if len(group) > 1:
            a, b = rnd.sample(group, 2)
            together.append((a.id, b.id))
    pins = {m.id: home[m.id] for m in rnd.sample(members, min(len(members),
                                                             draw(st.integers(0, 6))))}
    rules = GroupingRules(lo, hi, keep_apart=tuple(apart), keep_together=tuple(together),
                          pins=pins)
    return members, rules, sizes


@PROPERTY
@given(case=constrained_cases(), seed=st.integers(0, 2**32))
def test_constraints_are_honoured_when_feasible(case, seed) -> None:
    members, rules, sizes = case
    plan = form_groups(members, rules, seed=seed)
    assert plan.feasible, plan.problems
    assert_partition(plan, members)
    where = group_index_of(plan)
    for a, b in rules.keep_apart:
        assert where[a] != where[b]
    for a, b in rules.keep_together:
        assert where[a] == where[b]
    for member_id, index in rules.pins.items():
        assert where[member_id] == index
    assert all(rules.min_size <= s <= rules.max_size for s in plan.sizes)
    assert sorted(plan.sizes, reverse=True) == sizes
    assert ProblemCode.CONSTRAINTS_CHANGE_SIZES not in codes(plan.warnings)
    assert plan.score == mix_score(plan.groups) <= plan.optimum
    departments = {m.department for m in members}
    reduced = ProblemCode.CONSTRAINTS_REDUCE_MIX in codes(plan.warnings)
    assert reduced == (plan.score < plan.optimum and len(departments) > 1)
    if plan.score == plan.optimum:
        assert mix_gaps(plan.groups) == []
    assert form_groups(members, rules, seed=seed) == plan


def test_same_seed_same_groups_across_processes() -> None:
    """Reshuffle must replay after a restart: nothing may depend on str hash randomisation."""
    script = (
        "import random\n"
        "from workflows.grouping import GroupingRules, Member, form_groups\n"
        "rnd = random.Random(1)\n"
        "ms = [Member(f'p{i}', f'd{rnd.randrange(7)}') for i in range(90)]\n"
        "rules = GroupingRules(keep_apart=(('p1', 'p2'), ('p3', 'p4')),\n"
        "                      keep_together=(('p5', 'p6'),), pins={'p7': 3})\n"
        "print(repr(form_groups(ms, rules, seed=5, customer_types=['a', 'b'])))\n"
        "print(repr(form_groups(ms, seed=5, channel_focuses=['online', 'offline'])))\n"
    )
    root = Path(__file__).resolve().parents[2]
    outputs = {
        subprocess.run([sys.executable, "-c", script], cwd=root, check=True, text=True,
                       capture_output=True, env={**os.environ, "PYTHONHASHSEED": hash_seed}
                       ).stdout
        for hash_seed in ("1", "2", "3")
    }
    assert len(outputs) == 1


def brute_force_constrained(members: list[Member], rules: GroupingRules,
                            sizes: list[int]) -> int | None:
    """Best score over every split with the planned sizes honouring the rules (or None)."""
    best = None
    ids = [m.id for m in members]
    for labels in itertools.product(range(len(sizes)), repeat=len(members)):
        if sorted(Counter(labels).values(), reverse=True) != sizes:
            continue
        where = dict(zip(ids, labels, strict=True))
        if any(where[a] == where[b] for a, b in rules.keep_apart) or any(
                where[a] != where[b] for a, b in rules.keep_together) or any(
                where[m] != i for m, i in rules.pins.items()):
            continue
        groups = [[m for m in members if where[m.id] == j] for j in range(len(sizes))]
        score = mix_score(groups)
        best = score if best is None else max(best, score)
    return best


@settings(max_examples=80, deadline=None)
@given(departments=st.lists(st.integers(0, 4), min_size=4, max_size=8),
       bound=st.integers(1, 4).flatmap(lambda lo: st.tuples(st.just(lo), st.integers(lo, 6))),
       seed=st.integers(0, 2**32), data=st.data())
def test_constrained_mix_matches_brute_force_on_small_rosters(departments, bound, seed,
                                                              data) -> None:
    members = roster(departments)
    sizes = plan_sizes(len(members), *bound)
    assume(sizes is not None and 2 <= len(sizes) <= 3)
    ids = [m.id for m in members]
    pair = st.lists(st.sampled_from(ids), min_size=2, max_size=2, unique=True).map(tuple)
    rules = GroupingRules(
        *bound,
        keep_apart=tuple(data.draw(st.lists(pair, max_size=4))),
        keep_together=tuple(data.draw(st.lists(pair, max_size=2))),
        pins=data.draw(st.dictionaries(st.sampled_from(ids), st.integers(0, len(sizes) - 1),
                                       max_size=2)),
    )
    plan = form_groups(members, rules, seed=seed)
    best = brute_force_constrained(members, rules, sizes)
    if best is None:
        # No split with the planned sizes: either none at all, or one with other sizes.
        assert not plan.feasible or ProblemCode.CONSTRAINTS_CHANGE_SIZES in codes(plan.warnings)
    else:
        assert plan.feasible
        assert sorted(plan.sizes, reverse=True) == sizes
        assert plan.score == best


def test_keep_together_and_pins_example() -> None:
    members = roster([0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5])
    rules = GroupingRules(keep_together=(("m000", "m002"), ("m002", "m004")),
                          keep_apart=(("m001", "m006"),), pins={"m004": 1, "m005": 0})
    plan = form_groups(members, rules, seed=3)
    where = group_index_of(plan)
    assert plan.feasible
    assert where["m000"] == where["m002"] == where["m004"] == 1
    assert where["m005"] == 0 and where["m001"] != where["m006"]
    assert plan.score == plan.optimum == 12


# --- infeasible inputs -----------------------------------------------------------------


def test_not_enough_people() -> None:
    plan = form_groups(roster([0, 1, 2]))
    assert plan.problems == (Problem("not_enough_people", {"count": 3, "min_size": 4}),)
    assert plan.options == (Option("wait_for_more", {"missing": 1, "sizes": [4]}),
                            Option("stretch_min", {"sizes": [3], "min_size": 3}))
    assert not plan.feasible and plan.groups == ()


def test_nobody() -> None:
    plan = form_groups([])
    assert plan.problems == (Problem("not_enough_people", {"count": 0, "min_size": 4}),)
    assert plan.options == (Option("wait_for_more", {"missing": 4, "sizes": [4]}),)


def test_seven_people_with_four_to_six() -> None:
    plan = form_groups(roster(list(range(7))))
    assert plan.problems == (
        Problem("no_valid_split", {"count": 7, "min_size": 4, "max_size": 6}),)
    assert plan.options == (
        Option("stretch_max", {"sizes": [7], "max_size": 7}),
        Option("wait_for_more", {"missing": 1, "sizes": [4, 4]}),
        Option("stretch_min", {"sizes": [4, 3], "min_size": 3}),
    )


def test_single_department_still_forms_groups() -> None:
    plan = form_groups(roster([0] * 10))
    assert plan.feasible and plan.sizes == [5, 5]
    assert plan.warnings == (Problem("single_department", {"department": "dept0"}),)
    assert plan.score == plan.optimum == 2


def test_invalid_bounds() -> None:
    plan = form_groups(roster([0] * 10), GroupingRules(5, 4))
    assert plan.problems == (Problem("invalid_bounds", {"min_size": 5, "max_size": 4}),)
    assert codes(form_groups(roster([0] * 10), GroupingRules(0, 4)).problems) == [
        "invalid_bounds"]


def test_group_count_infeasible() -> None:
    plan = form_groups(roster(list(range(12))), group_count=4)
    assert plan.problems == (Problem("group_count_infeasible", {
        "group_count": 4, "count": 12, "min_size": 4, "max_size": 6}),)
    assert plan.options == (Option("use_group_count", {"group_count": 2, "sizes": [6, 6]}),)
    assert codes(form_groups(roster(list(range(12))), group_count=0).problems) == [
        "group_count_infeasible"]


def test_too_many_pins_for_max_size() -> None:
    members = roster(list(range(8)))
    plan = form_groups(members, GroupingRules(pins={m.id: 0 for m in members[:7]}))
    assert plan.problems == (
        Problem("too_many_pins", {"group_index": 0, "pinned": 7, "capacity": 4}),)


def test_too_many_pins_leaves_too_few_for_the_others() -> None:
    members = roster(list(range(9)))  # two groups: 5 + 4
    plan = form_groups(members, GroupingRules(pins={m.id: 0 for m in members[:6]}))
    assert plan.problems == (
        Problem("too_many_pins", {"group_index": 0, "pinned": 6, "capacity": 5}),)


def test_pins_count_keep_together_partners() -> None:
    members = roster(list(range(8)))
    rules = GroupingRules(pins={"m000": 0, "m001": 0, "m002": 0, "m003": 0, "m004": 0},
                          keep_together=(("m004", "m005"), ("m005", "m006")))
    assert codes(form_groups(members, rules).problems) == ["too_many_pins"]


def test_pin_to_missing_group() -> None:
    members = roster(list(range(12)))
    plan = form_groups(members, GroupingRules(pins={"m003": 2}))
    assert plan.problems == (Problem("pin_out_of_range", {
        "member_id": "m003", "group_index": 2, "group_count": 2}),)
    assert plan.options == (Option("use_group_count", {"group_count": 3, "sizes": [4, 4, 4]}),)
    plan = form_groups(members, GroupingRules(pins={"m003": -1}))
    assert plan.problems == (Problem("pin_out_of_range", {
        "member_id": "m003", "group_index": -1, "group_count": 2}),)


def test_contradictory_constraints() -> None:
    members = roster(list(range(12)))
    plan = form_groups(members, GroupingRules(keep_together=(("m000", "m001"),),
                                              keep_apart=(("m001", "m000"),)))
    assert plan.problems == (Problem("together_and_apart", {"member_ids": ["m001", "m000"]}),)
    chain = GroupingRules(keep_together=(("m000", "m001"), ("m001", "m002")),
                          keep_apart=(("m000", "m002"),))
    assert codes(form_groups(members, chain).problems) == ["together_and_apart"]
    plan = form_groups(members, GroupingRules(keep_apart=(("m004", "m004"),)))
    assert plan.problems == (Problem("apart_from_self", {"member_id": "m004"}),)


def test_keep_together_cluster_too_large() -> None:
    members = roster(list(range(12)))
    pairs = tuple((f"m00{i}", f"m00{i + 1}") for i in range(6))
    plan = form_groups(members, GroupingRules(keep_together=pairs))
    assert plan.problems == (Problem("together_group_too_large", {
        "member_ids": [f"m00{i}" for i in range(7)], "size": 7, "max_size": 6}),)


def test_conflicting_pins_and_pins_breaking_keep_apart() -> None:
    members = roster(list(range(12)))
    plan = form_groups(members, GroupingRules(keep_together=(("m000", "m001"),),
                                              pins={"m000": 0, "m001": 1}))
    assert plan.problems == (Problem("conflicting_pins", {
        "member_ids": ["m000", "m001"], "group_indexes": [0, 1]}),)
    plan = form_groups(members, GroupingRules(keep_apart=(("m000", "m001"),),
                                              pins={"m000": 1, "m001": 1}))
    assert plan.problems == (Problem("pins_break_keep_apart", {
        "member_ids": ["m000", "m001"], "group_index": 1}),)


def test_unknown_and_duplicate_members() -> None:
    members = roster(list(range(12)))
    rules = GroupingRules(keep_apart=(("m000", "ghost"),), keep_together=(("x", "m001"),),
                          pins={"y": 0})
    plan = form_groups(members + [members[0]], rules)
    # Problem holds a dict (unhashable), so compare sorted reprs.
    assert sorted(map(repr, plan.problems)) == sorted(map(repr, [
        Problem("duplicate_member", {"member_id": "m000"}),
        Problem("unknown_member", {"member_id": "ghost", "constraint": "keep_apart"}),
        Problem("unknown_member", {"member_id": "x", "constraint": "keep_together"}),
        Problem("unknown_member", {"member_id": "y", "constraint": "pins"}),
    ]))


def test_unsatisfiable_keep_apart_is_reported_with_best_effort_groups() -> None:
    members = roster(list(range(8)))  # two groups of four
    rules = GroupingRules(keep_apart=(("m000", "m001"), ("m001", "m002"), ("m000", "m002")))
    plan = form_groups(members, rules)
    assert not plan.feasible
    assert codes(plan.problems) == ["keep_apart_violated"]
    assert_partition(plan, members)


def test_unpackable_keep_together_blocks_are_reported() -> None:
    members = roster(list(range(8)))  # two groups of 4-6: blocks of 3, 3 and 2 cannot fit
    rules = GroupingRules(keep_together=(("m000", "m001"), ("m001", "m002"), ("m003", "m004"),
                                         ("m004", "m005"), ("m006", "m007")))
    plan = form_groups(members, rules)
    assert codes(plan.problems) == ["size_out_of_bounds"]
    assert_partition(plan, members)


def test_constraints_reduce_mix_is_reported() -> None:
    members = roster([0, 0, 1, 1, 2, 2, 3, 4])  # two groups of four
    plan = form_groups(members, GroupingRules(keep_together=(("m000", "m001"),)))
    assert plan.feasible and plan.score == 7 and plan.optimum == 8
    assert plan.warnings == (Problem("constraints_reduce_mix", {"score": 7, "optimum": 8}),)


def test_constraints_can_change_sizes() -> None:
    members = roster(list(range(10)))  # planned 5 + 5 with 4-6
    pairs = tuple((f"m00{i}", f"m00{i + 1}") for i in range(5))  # a block of 6
    plan = form_groups(members, GroupingRules(keep_together=pairs))
    assert plan.feasible and sorted(plan.sizes) == [4, 6]
    assert Problem("constraints_change_sizes", {"sizes": [6, 4], "planned_sizes": [5, 5]}) \
        in plan.warnings


# --- focuses ---------------------------------------------------------------------------


@PROPERTY
@given(g=st.integers(0, 40), types=st.lists(st.sampled_from("ABCDEFGH"), max_size=9),
       channels=st.lists(st.sampled_from(CHANNELS), max_size=5), seed=st.integers())
def test_focus_coverage_and_spread(g, types, channels, seed) -> None:
    focuses = assign_focuses(g, types, channels, seed=seed)
    assert len(focuses) == g
    assert focuses == assign_focuses(g, types, channels, seed=seed)
    unique_types, unique_channels = sorted(set(types)), sorted(set(channels))
    for values, listed in ((([f.customer_type for f in focuses]), unique_types),
                           (([f.channel_focus for f in focuses]), unique_channels)):
        if not listed:
            assert all(v is None for v in values)
            continue
        counts = Counter(values)
        assert set(counts) <= set(listed)
        assert all(counts[x] in (g // len(listed), -(-g // len(listed))) for x in listed)
        if g >= len(listed):
            assert set(counts) == set(listed)
    if unique_types and unique_channels:
        pairs = Counter(focuses)
        assert len(pairs) == min(g, len(unique_types) * len(unique_channels))
        assert not pairs or max(pairs.values()) - min(pairs.values()) <= 1


def test_focuses_in_a_plan() -> None:
    members = roster([i % 6 for i in range(30)])  # five groups of six
    plan = form_groups(members, customer_types=["Young urban professionals", "Families"],
                       channel_focuses=CHANNELS)
    assert len(plan.focuses) == 5
    assert {f.customer_type for f in plan.focuses} == {"Young urban professionals", "Families"}
    assert {f.channel_focus for f in plan.focuses} == set(CHANNELS)
    assert len(set(plan.focuses)) == 5
    assert plan.warnings == ()
    none = form_groups(members)
    assert none.focuses == (Focus(None, None),) * 5
    few = form_groups(roster([0, 1, 2, 3] * 2), channel_focuses=CHANNELS)  # two groups
    (warning,) = few.warnings
    assert warning.code == "focus_not_covered"
    assert warning.params["customer_types"] == []
    assert len(warning.params["channel_focuses"]) == 2


# --- late joiners ----------------------------------------------------------------------


@st.composite
def late_cases(draw: st.DrawFn):
    group_sizes = draw(st.lists(st.integers(0, 8), min_size=1, max_size=8))
    groups, k = [], 0
    for size in group_sizes:
        group = []
        for _ in range(size):
            group.append(Member(f"m{k}", f"dept{draw(st.integers(0, 4))}"))
            k += 1
        groups.append(tuple(group))
    newcomer = Member("new", f"dept{draw(st.integers(0, 4))}")
    everyone = [m.id for g in groups for m in g]
    apart = draw(st.lists(st.sampled_from(everyone), max_size=4)) if everyone else []
    max_size = draw(st.integers(1, 8))
    pairs = tuple((x, "new") if i % 2 else ("new", x) for i, x in enumerate(apart))
    return groups, newcomer, GroupingRules(1, max_size, keep_apart=pairs)


@PROPERTY
@given(case=late_cases())
def test_late_joiner_rules(case) -> None:
    groups, newcomer, rules = case
    result = place_late_joiner(groups, newcomer, rules)
    partners = {a if b == "new" else b for a, b in rules.keep_apart}
    allowed = [i for i, g in enumerate(groups) if not any(m.id in partners for m in g)]
    open_groups = [i for i in allowed if len(groups[i]) < rules.max_size]
    full = [i for i in allowed if len(groups[i]) == rules.max_size]
    choice = result.group_index
    if open_groups:
        assert choice in open_groups and not result.exceeds_max
        smallest = min(len(groups[i]) for i in open_groups)
        assert len(groups[choice]) == smallest
        lacking = [i for i in open_groups if len(groups[i]) == smallest
                   and all(m.department != newcomer.department for m in groups[i])]
        if lacking:
            assert choice == lacking[0]
    elif full:
        assert choice in full and result.exceeds_max
    else:
        assert choice is None
        assert result.problems == (Problem("no_compatible_group", {"member_id": "new"}),)


def test_late_joiner_examples() -> None:
    a = (Member("a1", "sales"), Member("a2", "cx"), Member("a3", "legal"), Member("a4", "it"))
    b = (Member("b1", "sales"), Member("b2", "cx"), Member("b3", "legal"), Member("b4", "hr"))
    c = (Member("c1", "sales"), Member("c2", "cx"), Member("c3", "finance"),
         Member("c4", "legal"), Member("c5", "it"))
    groups = [a, b, c]
    assert place_late_joiner(groups, Member("n", "hr")).group_index == 0
    assert place_late_joiner(groups, Member("n", "it")).group_index == 1
    apart = GroupingRules(keep_apart=(("b1", "n"),))
    assert place_late_joiner(groups, Member("n", "it"), apart).group_index == 0
    assert place_late_joiner([], Member("n", "it")).problems == (Problem("no_groups", {}),)
    placed = place_late_joiner(groups, Member("a1", "sales"))
    assert placed.group_index == 0 and codes(placed.problems) == ["already_placed"]
    pinned = place_late_joiner(groups, Member("n", "it"), GroupingRules(pins={"n": 2}))
    assert pinned.group_index == 2 and not pinned.exceeds_max
    out = place_late_joiner(groups, Member("n", "it"), GroupingRules(pins={"n": 3}))
    assert out.group_index is None and codes(out.problems) == ["pin_out_of_range"]
    buddy = place_late_joiner(groups, Member("n", "it"),
                              GroupingRules(keep_together=(("n", "c5"),), max_size=5))
    assert buddy.group_index == 2 and buddy.exceeds_max
    full = [a + (Member("a5", "x"), Member("a6", "y")), b + (Member("b5", "x"),
                                                              Member("b6", "hr"))]
    over = place_late_joiner(full, Member("n", "hr"))
    assert over.group_index == 0 and over.exceeds_max
    blocked = place_late_joiner(full, Member("n", "hr"),
                                GroupingRules(keep_apart=(("n", "a1"), ("b2", "n"))))
    assert blocked.group_index is None
    assert blocked.problems == (Problem("no_compatible_group", {"member_id": "n"}),)
