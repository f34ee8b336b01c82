"""Split workshop participants into cross-functional groups and give each group a focus.

Plain Python, no Slack and no SQL. Everything here is deterministic for a given ``seed``.

Who is placed
    The caller passes only the people to place. Facilitators and leadership observers are
    *not* filtered out here: leave them out of ``members`` unless the facilitator asked for
    them to join a group.

Sizes
    ``plan_sizes`` picks the number of groups ``g = ceil(n / max_size)`` (the fewest, hence
    largest, groups the bounds allow) and splits ``n`` as evenly as possible: sizes differ by
    at most one. A split exists iff ``n >= 1`` and ``ceil(n / max_size) * min_size <= n``
    (using more groups never helps once that fails). ``form_groups(..., group_count=g)``
    forces another number of groups.

Department mix
    ``mix_score`` is the number of distinct (group, department) pairs: every group counts
    each department it contains once. ``optimal_mix_score`` is its exact optimum for given
    department head-counts and group sizes (a max-flow value, computed in closed form).
    Without constraints ``form_groups`` always reaches the optimum, and additionally no
    department appears twice in a group while another group lacks it (see ``mix_gaps``).
    Keep-apart / keep-together / pins may lower the score; the plan then carries a
    ``constraints_reduce_mix`` warning with the true score and the optimum.

Problems are data, never prose
    Nothing here raises on bad or infeasible input. ``GroupPlan.problems`` holds blocking
    problems (``feasible`` is then False), ``GroupPlan.warnings`` non-blocking ones, and
    ``GroupPlan.options`` what the facilitator could do instead. Each is a code plus JSON-
    friendly params (ints, strings, lists); the Slack layer words them in French or English.
    The codes are listed in ``ProblemCode`` and ``OptionCode`` below.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from workflows.problems import Problem

__all__ = [
    "Focus",
    "GroupPlan",
    "GroupingRules",
    "LateJoinerPlacement",
    "Member",
    "Option",
    "OptionCode",
    "Problem",
    "ProblemCode",
    "assign_focuses",
    "form_groups",
    "mix_gaps",
    "mix_score",
    "optimal_mix_score",
    "place_late_joiner",
    "plan_sizes",
]


class ProblemCode:
    """Codes of the problems this module reports, with the params each one carries.

    Blocking (``GroupPlan.feasible`` is False; ``groups`` is empty unless stated):

    - ``invalid_bounds`` {min_size, max_size}: min_size < 1 or max_size < min_size.
    - ``duplicate_member`` {member_id}: the same id was passed twice.
    - ``unknown_member`` {member_id, constraint}: a constraint names someone who is not
      among the people to place; constraint is "keep_apart", "keep_together" or "pins".
    - ``apart_from_self`` {member_id}: a keep-apart pair names the same person twice.
    - ``together_and_apart`` {member_ids: [a, b]}: a and b must be kept apart but are also
      (directly or through a chain of keep-together pairs) to be kept together.
    - ``together_group_too_large`` {member_ids, size, max_size}: keep-together pairs chain
      ``size`` people, more than a group may hold.
    - ``conflicting_pins`` {member_ids, group_indexes}: people who must be together are
      pinned to different groups.
    - ``pins_break_keep_apart`` {member_ids: [a, b], group_index}: people to keep apart are
      pinned (themselves or through keep-together) to the same group.
    - ``not_enough_people`` {count, min_size}: fewer people than one group needs (0 too).
    - ``no_valid_split`` {count, min_size, max_size}: no split of count people has every
      group within the bounds (e.g. 7 people with 4-6).
    - ``group_count_infeasible`` {group_count, count, min_size, max_size}: the requested
      number of groups cannot hold count people within the bounds.
    - ``pin_out_of_range`` {member_id, group_index, group_count}: pinned to a group that
      does not exist (indexes are 0-based, so valid ones are 0 .. group_count - 1).
    - ``too_many_pins`` {group_index, pinned, capacity}: ``pinned`` people are pinned to that
      group (keep-together partners included) but it can hold at most ``capacity``: max_size,
      or less when the other groups still need their minimum.
    - ``keep_apart_violated`` {member_ids: [a, b], group_index}: no arrangement honouring
      this keep-apart pair was found. ``groups`` then holds the best arrangement found.
    - ``size_out_of_bounds`` {group_index, size, min_size, max_size}: the constraints
      (usually keep-together) left a group outside the bounds. ``groups`` holds the best
      arrangement found.

    Warnings (``GroupPlan.warnings``; the groups are usable):

    - ``single_department`` {department}: everyone is from one department, so groups were
      formed but no mix is possible.
    - ``constraints_reduce_mix`` {score, optimum}: the constraints cost some department mix.
    - ``constraints_change_sizes`` {sizes, planned_sizes}: the constraints made sizes less
      even than planned (both lists sorted largest first; still within bounds).
    - ``focus_not_covered`` {customer_types, channel_focuses}: fewer groups than listed
      customer types or channel focuses; these ones got no group.

    Late joiners (``LateJoinerPlacement.problems``):

    - ``no_groups`` {}: there are no groups yet.
    - ``already_placed`` {member_id, group_index}: the person is already in that group.
    - ``pin_out_of_range`` {member_id, group_index, group_count}: as above.
    - ``no_compatible_group`` {member_id}: every group is either ruled out by keep-apart or
      already over max_size (or the pinned / keep-together group is ruled out).
    """

    INVALID_BOUNDS = "invalid_bounds"
    DUPLICATE_MEMBER = "duplicate_member"
    UNKNOWN_MEMBER = "unknown_member"
    APART_FROM_SELF = "apart_from_self"
    TOGETHER_AND_APART = "together_and_apart"
    TOGETHER_GROUP_TOO_LARGE = "together_group_too_large"
    CONFLICTING_PINS = "conflicting_pins"
    PINS_BREAK_KEEP_APART = "pins_break_keep_apart"
    NOT_ENOUGH_PEOPLE = "not_enough_people"
    NO_VALID_SPLIT = "no_valid_split"
    GROUP_COUNT_INFEASIBLE = "group_count_infeasible"
    PIN_OUT_OF_RANGE = "pin_out_of_range"
    TOO_MANY_PINS = "too_many_pins"
    KEEP_APART_VIOLATED = "keep_apart_violated"
    SIZE_OUT_OF_BOUNDS = "size_out_of_bounds"
    SINGLE_DEPARTMENT = "single_department"
    CONSTRAINTS_REDUCE_MIX = "constraints_reduce_mix"
    CONSTRAINTS_CHANGE_SIZES = "constraints_change_sizes"
    FOCUS_NOT_COVERED = "focus_not_covered"
    NO_GROUPS = "no_groups"
    ALREADY_PLACED = "already_placed"
    NO_COMPATIBLE_GROUP = "no_compatible_group"


class OptionCode:
    """What the facilitator can do about a blocking size problem.

    - ``stretch_max`` {sizes, max_size}: form fewer groups, some above the maximum; call
      again with ``GroupingRules(max_size=max_size)`` to get exactly ``sizes``.
    - ``wait_for_more`` {missing, sizes}: wait for ``missing`` more people; then the split
      would be ``sizes``.
    - ``stretch_min`` {sizes, min_size}: form more (or smaller) groups, some below the
      minimum; call again with ``GroupingRules(min_size=min_size)``. For fewer people than
      the minimum this is the single group of everyone.
    - ``use_group_count`` {group_count, sizes}: call again with ``group_count=group_count``.
    """

    STRETCH_MAX = "stretch_max"
    WAIT_FOR_MORE = "wait_for_more"
    STRETCH_MIN = "stretch_min"
    USE_GROUP_COUNT = "use_group_count"


@dataclass(frozen=True)
class Member:
    """A person to place. Departments are compared exactly (normalise them upstream)."""

    id: str
    department: str


@dataclass(frozen=True)
class Focus:
    """What a group works on; None on a side whose workshop list is empty."""

    customer_type: str | None
    channel_focus: str | None


@dataclass(frozen=True)
class Option:
    """Something the facilitator could do instead; see ``OptionCode``."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GroupingRules:
    """Bounds and facilitator constraints.

    ``keep_apart`` / ``keep_together`` are pairs of member ids (keep-together is transitive:
    chained pairs form one block). ``pins`` maps a member id to a 0-based group index; the
    index refers to ``GroupPlan.groups`` (there are ``len(plan_sizes(...))`` groups, or
    ``group_count``). Treat ``pins`` as read-only.
    """

    min_size: int = 4
    max_size: int = 6
    keep_apart: tuple[tuple[str, str], ...] = ()
    keep_together: tuple[tuple[str, str], ...] = ()
    pins: Mapping[str, int] = field(default_factory=dict)

    @property
    def has_constraints(self) -> bool:
        return bool(self.keep_apart or self.keep_together or self.pins)


@dataclass(frozen=True)
class GroupPlan:
    """The outcome of ``form_groups``.

    ``groups[i]`` works on ``focuses[i]``; members inside a group are sorted by id.
    ``score`` is ``mix_score(groups)``; ``optimum`` is the best score any split of these
    people into groups of the planned sizes could reach (score <= optimum).
    ``feasible`` is True iff ``problems`` is empty. When it is False, ``groups`` is empty
    except for ``keep_apart_violated`` / ``size_out_of_bounds`` (best effort, for display).
    """

    groups: tuple[tuple[Member, ...], ...] = ()
    focuses: tuple[Focus, ...] = ()
    score: int = 0
    optimum: int = 0
    problems: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = ()
    options: tuple[Option, ...] = ()

    @property
    def feasible(self) -> bool:
        return not self.problems

    @property
    def sizes(self) -> list[int]:
        return [len(group) for group in self.groups]


@dataclass(frozen=True)
class LateJoinerPlacement:
    """Where a late joiner should go.

    ``group_index`` is None when no group can take them (see ``problems``).
    ``exceeds_max`` is True when joining makes the group one larger than ``max_size``
    (only done when every group they may join is full, or when a pin / keep-together
    partner requires that group).
    """

    group_index: int | None
    exceeds_max: bool = False
    problems: tuple[Problem, ...] = ()


# --------------------------------------------------------------------------------------
# Sizes
# --------------------------------------------------------------------------------------


def _even_sizes(n: int, groups: int) -> list[int]:
    """``n`` split into ``groups`` sizes differing by at most one, largest first."""
    q, r = divmod(n, groups)
    return [q + 1] * r + [q] * (groups - r)


def plan_sizes(n: int, min_size: int, max_size: int) -> list[int] | None:
    """Group sizes for ``n`` people, largest first, or None if no split within bounds exists.

    Uses the fewest groups possible, ``g = ceil(n / max_size)``, i.e. the largest groups the
    bounds allow, and splits as evenly as possible (sizes differ by at most one). Returns
    None for n <= 0, for invalid bounds, and when ``g * min_size > n`` (then no other number
    of groups works either: fewer groups overflow max_size, more groups underflow min_size).
    """
    if n <= 0 or min_size < 1 or max_size < min_size:
        return None
    groups = -(-n // max_size)
    if groups * min_size > n:
        return None
    return _even_sizes(n, groups)


def _size_options(n: int, min_size: int, max_size: int) -> list[Option]:
    """What to do when ``plan_sizes(n, min_size, max_size)`` is None (bounds valid)."""
    options: list[Option] = []
    fewer = n // min_size  # most groups that still respect min_size
    if fewer >= 1:
        new_max = -(-n // fewer)
        sizes = plan_sizes(n, min_size, new_max)
        if sizes is not None:
            options.append(
                Option(OptionCode.STRETCH_MAX, {"sizes": sizes, "max_size": new_max})
            )
    missing = 1
    while plan_sizes(n + missing, min_size, max_size) is None:
        missing += 1
    options.append(
        Option(
            OptionCode.WAIT_FOR_MORE,
            {"missing": missing, "sizes": plan_sizes(n + missing, min_size, max_size)},
        )
    )
    if n > 0:
        more = -(-n // max_size)  # fewest groups that still respect max_size
        new_min = n // more
        sizes = plan_sizes(n, new_min, max_size)
        if new_min >= 1 and sizes is not None:
            options.append(
                Option(OptionCode.STRETCH_MIN, {"sizes": sizes, "min_size": new_min})
            )
    return options


# --------------------------------------------------------------------------------------
# Mix score
# --------------------------------------------------------------------------------------


def mix_score(groups: Iterable[Iterable[Member]]) -> int:
    """Number of distinct (group, department) pairs: each group counts each department once."""
    return sum(len({member.department for member in group}) for group in groups)


def optimal_mix_score(department_counts: Mapping[str, int] | Iterable[int],
                      sizes: Sequence[int]) -> int:
    """Best possible ``mix_score`` for these department head-counts and group sizes.

    It is the max flow of the network source -> department (capacity c_d) -> group
    (capacity 1 per department/group pair) -> sink (capacity s_g). By max-flow/min-cut, a
    minimum cut keeps some departments A and some groups B on the source side and costs
    ``sum_{d not in A} c_d + |A| * (groups not in B) + sum_{g in B} s_g``. For a fixed number
    k of groups outside B, each department independently contributes min(c_d, k) and B is
    best made of the G - k smallest groups, so::

        optimum = min over k in 0..G of  sum_d min(c_d, k) + (sum of the G - k smallest s_g)

    When head-counts and sizes have the same total and the sizes differ by at most one (as
    ``plan_sizes`` gives), the minimum is at k = G: ``sum_d min(c_d, G)``.
    """
    counts = list(department_counts.values() if isinstance(department_counts, Mapping)
                  else department_counts)
    counts = [c for c in counts if c > 0]
    ordered = sorted(s for s in sizes if s > 0)
    g = len(ordered)
    prefix = [0]
    for s in ordered:
        prefix.append(prefix[-1] + s)
    return min(sum(min(c, k) for c in counts) + prefix[g - k] for k in range(g + 1))


def mix_gaps(groups: Sequence[Sequence[Member]]) -> list[tuple[str, int, int]]:
    """(department, crowded group, lacking group) triples where a department appears at least
    twice in one group while another group has none of it. Empty for unconstrained plans."""
    counts = [Counter(member.department for member in group) for group in groups]
    gaps: list[tuple[str, int, int]] = []
    departments = sorted({d for c in counts for d in c})
    for department in departments:
        crowded = [i for i, c in enumerate(counts) if c[department] >= 2]
        lacking = [i for i, c in enumerate(counts) if c[department] == 0]
        gaps.extend((department, i, j) for i in crowded for j in lacking)
    return gaps


# --------------------------------------------------------------------------------------
# Focuses
# --------------------------------------------------------------------------------------


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def assign_focuses(group_count: int, customer_types: Sequence[str] = (),
                   channel_focuses: Sequence[str] = (), *, seed: int | str = 0
                   ) -> tuple[Focus, ...]:
    """One (customer type, channel focus) per group.

    Every listed customer type and every listed channel focus is used at least once when
    there are at least that many groups; each one is used floor or ceil of
    group_count / len(list) times; the combinations are all distinct while
    group_count <= len(types) * len(channels), and repeat evenly beyond. An empty list gives
    None on that side. Duplicates in a list are ignored. The seed only shuffles the lists.

    Construction: group i gets type i mod a and channel (i + i // lcm(a, b)) mod b. Within a
    window of lcm(a, b) consecutive i the pairs are distinct (Chinese remainder theorem) and
    the windows with shifts 0 .. gcd(a, b) - 1 partition all a * b pairs.
    """
    rng = random.Random(f"focus:{seed}")
    types: list[str | None] = list(_unique(customer_types))
    channels: list[str | None] = list(_unique(channel_focuses))
    rng.shuffle(types)
    rng.shuffle(channels)
    if not types:
        types = [None]
    if not channels:
        channels = [None]
    a, b = len(types), len(channels)
    window = a * b // math.gcd(a, b)
    return tuple(
        Focus(types[i % a], channels[(i + i // window) % b]) for i in range(max(group_count, 0))
    )


def _focus_warning(focuses: Sequence[Focus], customer_types: Sequence[str],
                   channel_focuses: Sequence[str]) -> Problem | None:
    used_types = {f.customer_type for f in focuses}
    used_channels = {f.channel_focus for f in focuses}
    missing_types = [t for t in _unique(customer_types) if t not in used_types]
    missing_channels = [c for c in _unique(channel_focuses) if c not in used_channels]
    if not missing_types and not missing_channels:
        return None
    return Problem(
        ProblemCode.FOCUS_NOT_COVERED,
        {"customer_types": missing_types, "channel_focuses": missing_channels},
    )


# --------------------------------------------------------------------------------------
# Forming groups
# --------------------------------------------------------------------------------------


def form_groups(members: Sequence[Member], rules: GroupingRules | None = None, *,
                seed: int | str = 0, customer_types: Sequence[str] = (),
                channel_focuses: Sequence[str] = (), group_count: int | None = None
                ) -> GroupPlan:
    """Split ``members`` into groups within ``rules`` bounds, maximising the department mix.

    - Sizes come from ``plan_sizes`` (or an even split into ``group_count`` groups).
    - Without constraints the mix score always equals the optimum and ``mix_gaps`` is empty.
    - keep_together blocks and pins are always honoured in a feasible plan; keep_apart too.
      With constraints a local search keeps the mix as high as it can.
    - Same members (in any order) + same rules + same seed -> same plan. Another seed gives
      another, equally good plan (the "Reshuffle" button).
    - Never raises for infeasible input: see ``ProblemCode`` / ``OptionCode``.

    The caller passes only the people to place (leave facilitators and observers out unless
    they asked to join a group).
    """
    rules = rules or GroupingRules()
    lo, hi = rules.min_size, rules.max_size
    if not isinstance(lo, int) or not isinstance(hi, int) or lo < 1 or hi < lo:
        return GroupPlan(problems=(
            Problem(ProblemCode.INVALID_BOUNDS, {"min_size": lo, "max_size": hi}),))

    problems: list[Problem] = []
    seen: set[str] = set()
    people: list[Member] = []
    for member in members:
        if member.id in seen:
            if not any(p.code == ProblemCode.DUPLICATE_MEMBER and p.params["member_id"]
                       == member.id for p in problems):
                problems.append(Problem(ProblemCode.DUPLICATE_MEMBER, {"member_id": member.id}))
            continue
        seen.add(member.id)
        people.append(member)
    people.sort(key=lambda m: m.id)
    index = {m.id: i for i, m in enumerate(people)}
    n = len(people)

    structure = _Structure.build(people, index, rules, problems)

    sizes: list[int] | None = None
    options: list[Option] = []
    if n < lo:
        problems.append(Problem(ProblemCode.NOT_ENOUGH_PEOPLE, {"count": n, "min_size": lo}))
        options.extend(_size_options(n, lo, hi))
    elif group_count is None:
        sizes = plan_sizes(n, lo, hi)
        if sizes is None:
            problems.append(Problem(ProblemCode.NO_VALID_SPLIT,
                                    {"count": n, "min_size": lo, "max_size": hi}))
            options.extend(_size_options(n, lo, hi))
    elif (isinstance(group_count, int) and group_count >= 1
          and group_count * lo <= n <= group_count * hi):
        sizes = _even_sizes(n, group_count)
    else:
        problems.append(Problem(ProblemCode.GROUP_COUNT_INFEASIBLE, {
            "group_count": group_count, "count": n, "min_size": lo, "max_size": hi}))
        default = plan_sizes(n, lo, hi)
        if default is not None:
            options.append(Option(OptionCode.USE_GROUP_COUNT,
                                  {"group_count": len(default), "sizes": default}))
        else:
            options.extend(_size_options(n, lo, hi))

    targets: list[int] | None = None
    if sizes is not None:
        targets = structure.check_pins(sizes, lo, hi, problems, options)
    if problems or sizes is None or targets is None:
        return GroupPlan(problems=tuple(problems), options=tuple(options))

    g = len(sizes)
    rng = random.Random(f"groups:{seed}")
    departments = sorted({m.department for m in people})
    dept_index = {d: i for i, d in enumerate(departments)}
    dept_of = [dept_index[m.department] for m in people]
    optimum = optimal_mix_score(Counter(dept_of), sizes)

    if not rules.has_constraints:
        assignment = _deal(dept_of, g, rng)
        search = None
    else:
        search = _solve(structure, dept_of, len(departments), targets, lo, hi, rng)
        assignment = search.member_groups(structure.units, n)

    buckets: list[list[Member]] = [[] for _ in range(g)]
    for i, group_index in enumerate(assignment):
        buckets[group_index].append(people[i])
    groups = tuple(tuple(bucket) for bucket in buckets)
    score = mix_score(groups)

    warnings: list[Problem] = []
    if len(departments) == 1:
        warnings.append(Problem(ProblemCode.SINGLE_DEPARTMENT, {"department": departments[0]}))
    if search is not None:
        for a, b in rules.keep_apart:
            together_in = assignment[index[a]]
            if together_in == assignment[index[b]]:
                problems.append(Problem(ProblemCode.KEEP_APART_VIOLATED,
                                        {"member_ids": [a, b], "group_index": together_in}))
        for i, group in enumerate(groups):
            if not lo <= len(group) <= hi:
                problems.append(Problem(ProblemCode.SIZE_OUT_OF_BOUNDS, {
                    "group_index": i, "size": len(group), "min_size": lo, "max_size": hi}))
        actual = sorted((len(group) for group in groups), reverse=True)
        if not problems and actual != sizes:
            warnings.append(Problem(ProblemCode.CONSTRAINTS_CHANGE_SIZES,
                                    {"sizes": actual, "planned_sizes": list(sizes)}))
        if score < optimum and len(departments) > 1:
            warnings.append(Problem(ProblemCode.CONSTRAINTS_REDUCE_MIX,
                                    {"score": score, "optimum": optimum}))

    focuses = assign_focuses(g, customer_types, channel_focuses, seed=seed)
    focus_warning = _focus_warning(focuses, customer_types, channel_focuses)
    if focus_warning is not None:
        warnings.append(focus_warning)
    return GroupPlan(groups=groups, focuses=focuses, score=score, optimum=optimum,
                     problems=tuple(problems), warnings=tuple(warnings))


def _deal(dept_of: Sequence[int], g: int, rng: random.Random) -> list[int]:
    """Optimal unconstrained assignment: member index -> group index.

    Lay the members out department by department (departments and people within them in a
    seeded random order) and deal position p to group p mod g, except that the last
    n - q*g positions (n = q*g + r) go to groups 0 .. r-1, the ones that get q + 1 people.
    Every run of at most g consecutive positions then lands in distinct groups, and every
    run of g or more covers all groups. So a department with c <= g people sits in c
    different groups, one with c > g people sits in every group, the score is
    sum_d min(c_d, g) (an upper bound, hence optimal) and no department is doubled in a
    group while another lacks it. Group labels are finally shuffled.
    """
    n = len(dept_of)
    by_dept: dict[int, list[int]] = {}
    for i, d in enumerate(dept_of):
        by_dept.setdefault(d, []).append(i)
    order = sorted(by_dept)
    rng.shuffle(order)
    sequence: list[int] = []
    for d in order:
        block = by_dept[d]
        rng.shuffle(block)
        sequence.extend(block)
    labels = list(range(g))
    rng.shuffle(labels)
    full = (n // g) * g
    assignment = [0] * n
    for position, i in enumerate(sequence):
        virtual = position % g if position < full else position - full
        assignment[i] = labels[virtual]
    return assignment


# --------------------------------------------------------------------------------------
# Constraints: validation and the structure the search works on
# --------------------------------------------------------------------------------------


@dataclass
class _Structure:
    """Keep-together blocks ("units"), their pins and keep-apart links, by member index."""

    units: list[list[int]]
    unit_of: list[int]
    pin: list[int]  # unit -> group index, or -1
    apart: list[dict[int, int]]  # unit -> {other unit: number of keep-apart pairs}
    ids: list[str]  # member index -> id
    pinned_ids: list[list[str]]  # unit -> ids of its members named in pins
    bad_pins: list[tuple[str, Any]]  # pins to a negative or non-integer index

    @staticmethod
    def build(people: list[Member], index: dict[str, int], rules: GroupingRules,
              problems: list[Problem]) -> _Structure:
        n = len(people)
        ids = [m.id for m in people]
        unknown: set[tuple[str, str]] = set()

        def known(member_id: str, constraint: str) -> bool:
            if member_id in index:
                return True
            if (member_id, constraint) not in unknown:
                unknown.add((member_id, constraint))
                problems.append(Problem(ProblemCode.UNKNOWN_MEMBER,
                                        {"member_id": member_id, "constraint": constraint}))
            return False

        parent = list(range(n))

        def find(x: int) -> int:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for a, b in rules.keep_together:
            # "&", not "and": report both ids when both are unknown.
            if known(a, "keep_together") & known(b, "keep_together"):
                ra, rb = find(index[a]), find(index[b])
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)

        roots: dict[int, int] = {}
        units: list[list[int]] = []
        unit_of = [0] * n
        for i in range(n):
            r = find(i)
            if r not in roots:
                roots[r] = len(units)
                units.append([])
            unit_of[i] = roots[r]
            units[roots[r]].append(i)

        for unit in units:
            if len(unit) > rules.max_size:
                problems.append(Problem(ProblemCode.TOGETHER_GROUP_TOO_LARGE, {
                    "member_ids": [ids[i] for i in unit], "size": len(unit),
                    "max_size": rules.max_size}))

        pin = [-1] * len(units)
        pinned_by: list[dict[str, int]] = [{} for _ in units]
        bad_pins: list[tuple[str, Any]] = []
        for member_id, group_index in sorted(rules.pins.items()):
            if not known(member_id, "pins"):
                continue
            if isinstance(group_index, bool) or not isinstance(group_index, int) \
                    or group_index < 0:
                bad_pins.append((member_id, group_index))
            else:
                pinned_by[unit_of[index[member_id]]][member_id] = group_index
        for u, pins in enumerate(pinned_by):
            targets = sorted(set(pins.values()))
            if len(targets) > 1:
                problems.append(Problem(ProblemCode.CONFLICTING_PINS, {
                    "member_ids": sorted(pins), "group_indexes": targets}))
            elif targets:
                pin[u] = targets[0]
        pinned_ids = [sorted(pins) for pins in pinned_by]

        apart: list[dict[int, int]] = [{} for _ in units]
        for a, b in rules.keep_apart:
            ok_a, ok_b = known(a, "keep_apart"), known(b, "keep_apart")
            if a == b:
                if ok_a:
                    problems.append(Problem(ProblemCode.APART_FROM_SELF, {"member_id": a}))
                continue
            if not (ok_a and ok_b):
                continue
            ua, ub = unit_of[index[a]], unit_of[index[b]]
            if ua == ub:
                problems.append(Problem(ProblemCode.TOGETHER_AND_APART, {"member_ids": [a, b]}))
            elif pin[ua] >= 0 and pin[ua] == pin[ub]:
                problems.append(Problem(ProblemCode.PINS_BREAK_KEEP_APART,
                                        {"member_ids": [a, b], "group_index": pin[ua]}))
            else:
                apart[ua][ub] = apart[ua].get(ub, 0) + 1
                apart[ub][ua] = apart[ub].get(ua, 0) + 1
        return _Structure(units, unit_of, pin, apart, ids, pinned_ids, bad_pins)

    def check_pins(self, sizes: list[int], lo: int, hi: int, problems: list[Problem],
                   options: list[Option]) -> list[int] | None:
        """Check pin indexes and loads; return the target size of each group (or None).

        Targets are as even as possible given the pinned loads (water-filling from min_size).
        """
        g = len(sizes)
        n = sum(sizes)
        highest = -1
        for member_id, target in self.bad_pins:
            problems.append(Problem(ProblemCode.PIN_OUT_OF_RANGE, {
                "member_id": member_id, "group_index": target, "group_count": g}))
        for u, target in enumerate(self.pin):
            if target >= g:
                highest = max(highest, target)
                for member_id in self.pinned_ids[u]:
                    problems.append(Problem(ProblemCode.PIN_OUT_OF_RANGE, {
                        "member_id": member_id, "group_index": target, "group_count": g}))
        if highest >= 0 and not self.bad_pins and (highest + 1) * lo <= n <= (highest + 1) * hi:
            options.append(Option(OptionCode.USE_GROUP_COUNT, {
                "group_count": highest + 1, "sizes": _even_sizes(n, highest + 1)}))
        if highest >= 0 or self.bad_pins:
            return None

        load = [0] * g
        for u, unit in enumerate(self.units):
            if self.pin[u] >= 0:
                load[self.pin[u]] += len(unit)
        base = [max(lo, x) for x in load]
        over = [i for i in range(g) if load[i] > hi]
        if over or sum(base) > n:
            culprits = over or [max(range(g), key=lambda i: (load[i], -i))]
            for i in culprits:
                capacity = min(hi, max(0, n - (sum(base) - base[i])))
                problems.append(Problem(ProblemCode.TOO_MANY_PINS, {
                    "group_index": i, "pinned": load[i], "capacity": capacity}))
            return None
        # Water-fill the rest: as even as possible given the pinned loads.
        heap = [(base[i], i) for i in range(g)]
        heapq.heapify(heap)
        for _ in range(n - sum(base)):
            s, i = heapq.heappop(heap)
            base[i] = s + 1
            heapq.heappush(heap, (s + 1, i))
        return base


# --------------------------------------------------------------------------------------
# Constrained search
# --------------------------------------------------------------------------------------

_NO_CHANGE = (0, 0, 0, 0)
_APART, _SIZE, _MIX = 0, 1, 2  # why a unit is worth moving, most urgent first


class _Search:
    """Units (keep-together blocks) in groups, with a lexicographic cost to minimise:
    (keep-apart violations, people outside the size bounds, sum of squared sizes, -score).
    Pinned units never move, so pins and keep-together always hold."""

    def __init__(self, structure: _Structure, dept_of: Sequence[int], departments: int,
                 groups: int, lo: int, hi: int) -> None:
        self.structure = structure
        self.k = [len(unit) for unit in structure.units]
        self.depts = [sorted(Counter(dept_of[i] for i in unit).items())
                      for unit in structure.units]
        self.single = [len(unit) == 1 for unit in structure.units]
        self.first = [d[0][0] for d in self.depts]
        self.adj = structure.apart
        self.pin = structure.pin
        self.g = groups
        self.lo, self.hi = lo, hi
        self.grp = [-1] * len(structure.units)
        self.members: list[set[int]] = [set() for _ in range(groups)]
        self.size = [0] * groups
        self.cnt = [[0] * departments for _ in range(groups)]
        self.present = [0] * departments
        self.movable = [u for u in range(len(self.k)) if self.pin[u] < 0]
        self.evaluations = 0

    # -- state ------------------------------------------------------------------------
    def add(self, u: int, g: int) -> None:
        self.grp[u] = g
        self.members[g].add(u)
        self.size[g] += self.k[u]
        cnt = self.cnt[g]
        for d, c in self.depts[u]:
            if cnt[d] == 0:
                self.present[d] += 1
            cnt[d] += c

    def remove(self, u: int) -> None:
        g = self.grp[u]
        self.members[g].discard(u)
        self.size[g] -= self.k[u]
        cnt = self.cnt[g]
        for d, c in self.depts[u]:
            cnt[d] -= c
            if cnt[d] == 0:
                self.present[d] -= 1
        self.grp[u] = -1

    def cost(self) -> tuple[int, int, int, int]:
        viol = sum(m for u, links in enumerate(self.adj) for v, m in links.items()
                   if u < v and self.grp[u] == self.grp[v])
        oob = sum(self._oob(s) for s in self.size)
        return (viol, oob, sum(s * s for s in self.size),
                -sum(1 for cnt in self.cnt for c in cnt if c))

    def _oob(self, s: int) -> int:
        return s - self.hi if s > self.hi else (self.lo - s if s < self.lo else 0)

    def member_groups(self, units: list[list[int]], n: int) -> list[int]:
        assignment = [0] * n
        for u, unit in enumerate(units):
            for i in unit:
                assignment[i] = self.grp[u]
        return assignment

    # -- deltas -----------------------------------------------------------------------
    def move_delta(self, u: int, b: int) -> tuple[int, int, int, int]:
        a, k, grp = self.grp[u], self.k[u], self.grp
        dv = 0
        for v, m in self.adj[u].items():
            if grp[v] == a:
                dv -= m
            elif grp[v] == b:
                dv += m
        sa, sb = self.size[a], self.size[b]
        doob = (self._oob(sa - k) - self._oob(sa)) + (self._oob(sb + k) - self._oob(sb))
        ds = 0
        ca, cb = self.cnt[a], self.cnt[b]
        for d, c in self.depts[u]:
            if ca[d] == c:
                ds -= 1
            if cb[d] == 0:
                ds += 1
        return (dv, doob, 2 * k * (sb - sa + k), -ds)

    def swap_delta(self, u: int, v: int) -> tuple[int, int, int, int]:
        a, b, grp = self.grp[u], self.grp[v], self.grp
        dv = 0
        for w, m in self.adj[u].items():
            if w != v:
                if grp[w] == a:
                    dv -= m
                elif grp[w] == b:
                    dv += m
        for w, m in self.adj[v].items():
            if w != u:
                if grp[w] == b:
                    dv -= m
                elif grp[w] == a:
                    dv += m
        ku, kv = self.k[u], self.k[v]
        ca, cb = self.cnt[a], self.cnt[b]
        if ku == kv:
            doob = dsq = 0
        else:
            sa, sb = self.size[a], self.size[b]
            na, nb = sa - ku + kv, sb - kv + ku
            doob = (self._oob(na) - self._oob(sa)) + (self._oob(nb) - self._oob(sb))
            dsq = na * na + nb * nb - sa * sa - sb * sb
        if self.single[u] and self.single[v]:
            du, dw = self.first[u], self.first[v]
            ds = 0
            if du != dw:
                ds = ((ca[dw] == 0) - (ca[du] == 1)) + ((cb[du] == 0) - (cb[dw] == 1))
        else:
            net: dict[int, int] = {}
            for d, c in self.depts[u]:
                net[d] = net.get(d, 0) - c
            for d, c in self.depts[v]:
                net[d] = net.get(d, 0) + c
            ds = 0
            for d, x in net.items():
                if x:
                    ds += ((ca[d] + x > 0) - (ca[d] > 0)) + ((cb[d] - x > 0) - (cb[d] > 0))
        return (dv, doob, dsq, -ds)

    # -- construction -------------------------------------------------------------------
    def construct(self, order: Sequence[int], targets: Sequence[int]) -> None:
        """Greedy: pinned units first, then the given order, each to the best open group.

        Best = no keep-apart conflict, then room left (targets), then fewest departments
        already present, then least filled, then the next group in cyclic order (so a
        department's people are dealt round the groups, as in the unconstrained case).
        """
        g = self.g
        size, cnt = self.size, self.cnt
        for u, target in enumerate(self.pin):
            if target >= 0:
                self.add(u, target)
        pointer = 0
        for u in order:
            k = self.k[u]
            depts = self.depts[u]
            conflicts = Counter(self.grp[v] for v in self.adj[u] if self.grp[v] >= 0)
            # Fast path: the next group in cyclic order with room, no conflict and none of
            # the unit's departments (ignoring those already present in every group).
            scarce = [d for d, _ in depts if self.present[d] < g]
            chosen = -1
            for offset in range(g):
                h = (pointer + offset) % g
                if size[h] + k <= targets[h] and h not in conflicts and not any(
                        cnt[h][d] for d in scarce):
                    chosen = h
                    break
            if chosen < 0:
                best: tuple[int, int, int, int, int] | None = None
                for offset in range(g):
                    h = (pointer + offset) % g
                    counts = cnt[h]
                    key = (conflicts[h], max(0, size[h] + k - targets[h]),
                           sum(1 for d, _ in depts if counts[d]),
                           size[h] - targets[h], offset)
                    if best is None or key < best:
                        best, chosen = key, h
            self.add(u, chosen)
            pointer = (chosen + 1) % g

    # -- local search -------------------------------------------------------------------
    def _troubled(self, u: int) -> bool:
        """Is unit u in keep-apart trouble, or doubling a department some group lacks?"""
        a = self.grp[u]
        if any(self.grp[v] == a for v in self.adj[u]):
            return True
        cnt = self.cnt[a]
        return any(cnt[d] > c and self.present[d] < self.g for d, c in self.depts[u])

    def _hot(self) -> list[tuple[int, int]]:
        """Movable units worth trying, with why: _APART, _SIZE or _MIX (in priority order)."""
        smallest = min(self.size)
        hot: list[tuple[int, int]] = []
        for u in self.movable:
            a = self.grp[u]
            s = self.size[a]
            if any(self.grp[v] == a for v in self.adj[u]):
                hot.append((u, _APART))
            elif s > self.hi or s - smallest > self.k[u] or (smallest < self.lo and s > self.lo):
                hot.append((u, _SIZE))
            else:
                cnt = self.cnt[a]
                if any(cnt[d] > c and self.present[d] < self.g for d, c in self.depts[u]):
                    hot.append((u, _MIX))
        return hot

    def improve(self, rng: random.Random, budget: int, max_rounds: int = 50) -> None:
        """Best-improvement descent over moves and swaps of the hot units.

        Units breaking keep-apart are tried against every group, units in too large groups
        against smaller groups, units doubling a department against groups lacking it. The
        last kind is skipped once ``evaluations`` exceeds ``budget``.
        """
        for _ in range(max_rounds):
            hot = self._hot()
            rng.shuffle(hot)
            hot.sort(key=lambda item: item[1])
            improved = False
            for u, why in hot:
                a = self.grp[u]
                if why == _MIX:
                    if self.evaluations > budget:
                        break
                    cnt = self.cnt[a]
                    doubled = [d for d, c in self.depts[u] if cnt[d] > c]
                    if not doubled:
                        continue
                    candidates = [b for b in range(self.g)
                                  if b != a and any(self.cnt[b][d] == 0 for d in doubled)]
                elif why == _SIZE:
                    candidates = [b for b in range(self.g) if self.size[b] < self.size[a]]
                else:
                    candidates = [b for b in range(self.g) if b != a]
                best = _NO_CHANGE
                move: tuple[int, int] | None = None
                for b in candidates:
                    self.evaluations += 1 + len(self.members[b])
                    delta = self.move_delta(u, b)
                    if delta < best:
                        best, move = delta, (b, -1)
                    for v in self.members[b]:
                        if self.pin[v] < 0:
                            delta = self.swap_delta(u, v)
                            if delta < best:
                                best, move = delta, (b, v)
                if move is not None:
                    self._apply(u, *move)
                    improved = True
            if not improved:
                return

    def _apply(self, u: int, b: int, v: int = -1) -> None:
        """Move u to group b, sending v (a unit of b, if any) to u's group."""
        a = self.grp[u]
        self.remove(u)
        if v >= 0:
            self.remove(v)
            self.add(v, a)
        self.add(u, b)

    def kick(self, rng: random.Random) -> None:
        """One to three forced moves or swaps, preferably of troubled units."""
        if not self.movable or self.g < 2:
            return
        for _ in range(rng.randint(1, 3)):
            troubled = [u for u in self.movable if self._troubled(u)]
            u = rng.choice(troubled if troubled and rng.random() < 0.8 else self.movable)
            a = self.grp[u]
            cnt = self.cnt[a]
            doubled = [d for d, c in self.depts[u] if cnt[d] > c]
            lacking = [b for b in range(self.g) if b != a and any(
                self.cnt[b][d] == 0 for d in doubled)]
            b = rng.choice(lacking or [b for b in range(self.g) if b != a])
            partners = [v for v in self.members[b] if self.pin[v] < 0 and self.k[v] == self.k[u]]
            if partners and rng.random() < 0.8:
                self._apply(u, b, rng.choice(sorted(partners)))
            else:
                self._apply(u, b)

    def snapshot(self) -> list[int]:
        return list(self.grp)

    def restore(self, grp: Sequence[int]) -> None:
        for u in range(len(self.k)):
            if self.grp[u] != grp[u]:
                self.remove(u)
        for u in range(len(self.k)):
            if self.grp[u] == -1:
                self.add(u, grp[u])


# Iterated local search limits: they bound the constrained search to well under a second
# (an evaluation is one move or swap looked at, a few microseconds).
_MAX_KICKS = 60
_MAX_STALE_KICKS = 25
_EVALUATION_BUDGET = 150_000


def _solve(structure: _Structure, dept_of: Sequence[int], departments: int,
           targets: list[int], lo: int, hi: int, rng: random.Random) -> _Search:
    """Greedy construction, then iterated local search (descent + kicks, keep the best).

    Stops early at a lower bound of the cost: no violation, the targets' sum of squared
    sizes, and the mix bound sum_d min(units containing d, groups) (people kept together
    count once per department).
    """
    search = _Search(structure, dept_of, departments, len(targets), lo, hi)
    units = list(search.movable)
    rng.shuffle(units)
    dept_rank = list(range(departments))
    rng.shuffle(dept_rank)
    # Larger blocks and units with keep-apart links first; then department by department
    # (the dealing order, which keeps the mix optimal when nothing else interferes).
    units.sort(key=lambda u: (-search.k[u], -len(structure.apart[u]),
                              dept_rank[search.first[u]]))
    search.construct(units, targets)
    search.improve(rng, _EVALUATION_BUDGET)
    holders = Counter(d for unit_depts in search.depts for d, _ in unit_depts)
    bound = (0, 0, sum(t * t for t in targets),
             -sum(min(c, len(targets)) for c in holders.values()))
    best_cost, best = search.cost(), search.snapshot()
    kicks = stale = 0
    while (best_cost > bound and kicks < _MAX_KICKS and stale < _MAX_STALE_KICKS
           and search.evaluations < _EVALUATION_BUDGET):
        kicks += 1
        stale += 1
        search.kick(rng)
        search.improve(rng, _EVALUATION_BUDGET)
        cost = search.cost()
        if cost < best_cost:
            stale = 0
        if cost <= best_cost:
            best_cost, best = cost, search.snapshot()
        else:
            search.restore(best)
    search.restore(best)
    return search


# --------------------------------------------------------------------------------------
# Late joiners
# --------------------------------------------------------------------------------------


def place_late_joiner(groups: Sequence[Sequence[Member]], member: Member,
                      rules: GroupingRules | None = None) -> LateJoinerPlacement:
    """Pick the group a late joiner should join (the caller then adds them to it).

    - A pin (``rules.pins[member.id]``) or a keep-together partner already placed decides
      the group, unless that group holds someone to keep apart from (then
      ``no_compatible_group``); it may then end above max_size (``exceeds_max``).
    - Otherwise, among groups without anyone to keep apart from: the smallest group that is
      not full (size < max_size), preferring among equally small ones a group lacking the
      newcomer's department, then the lowest index. If every such group is full, the same
      choice among the groups exactly at max_size, with ``exceeds_max=True``.
    - Never raises; see ``ProblemCode`` for the problem codes.
    """
    rules = rules or GroupingRules()
    if not groups:
        return LateJoinerPlacement(None, problems=(Problem(ProblemCode.NO_GROUPS, {}),))
    where = {m.id: i for i, group in enumerate(groups) for m in group}
    if member.id in where:
        return LateJoinerPlacement(where[member.id], problems=(Problem(
            ProblemCode.ALREADY_PLACED,
            {"member_id": member.id, "group_index": where[member.id]}),))
    apart = {b if a == member.id else a for a, b in rules.keep_apart if member.id in (a, b)}
    blocked = {where[x] for x in apart if x in where}
    no_fit = LateJoinerPlacement(None, problems=(
        Problem(ProblemCode.NO_COMPATIBLE_GROUP, {"member_id": member.id}),))

    required: set[int] = set()
    if member.id in rules.pins:
        pinned = rules.pins[member.id]
        if not isinstance(pinned, int) or not 0 <= pinned < len(groups):
            return LateJoinerPlacement(None, problems=(Problem(ProblemCode.PIN_OUT_OF_RANGE, {
                "member_id": member.id, "group_index": pinned, "group_count": len(groups)}),))
        required.add(pinned)
    for a, b in rules.keep_together:
        if member.id in (a, b):
            other = b if a == member.id else a
            if other in where:
                required.add(where[other])
    if required:
        if len(required) > 1:
            return no_fit
        (target,) = required
        if target in blocked:
            return no_fit
        return LateJoinerPlacement(target, exceeds_max=len(groups[target]) + 1 > rules.max_size)

    def key(i: int) -> tuple[int, bool, int]:
        return (len(groups[i]), any(m.department == member.department for m in groups[i]), i)

    allowed = [i for i in range(len(groups)) if i not in blocked]
    open_groups = [i for i in allowed if len(groups[i]) < rules.max_size]
    if open_groups:
        return LateJoinerPlacement(min(open_groups, key=key))
    full = [i for i in allowed if len(groups[i]) == rules.max_size]
    if full:
        return LateJoinerPlacement(min(full, key=key), exceeds_max=True)
    return no_fit
