"""What a publication of the maps contains: which version to show now, which comparison
views go with the validated maps, and the figures their descriptions quote. Light on
purpose (no matplotlib): the Slack layer decides with it before anything is rendered."""

from __future__ import annotations

from collections import Counter

from workflows.phases import DAY2_PHASES

VALIDATED_PHASES = (*DAY2_PHASES, "follow_up", "done")
"""From the start of day 2 on, the map to show is the validated one."""


def default_version(uow, workshop_id: int) -> str:
    """The map to publish now: validated once day 2 has started, else hypothetical."""
    row = uow.schedule.get(workshop_id)
    return "validated" if row is not None and row.phase in VALIDATED_PHASES else "hypothetical"


def comparison_views(groups) -> list[str]:
    """The comparison views of a validated publication, as keys: "compare:<group>" per
    group, "side:<group>,<group>…" per customer type with two groups or more, "overlay"
    (every group) when there are two groups or more. `groups`: anything with `id` and
    `customer_type`."""
    keys = [f"compare:{g.id}" for g in groups]
    by_type: dict[str, list[int]] = {}
    for g in groups:
        if g.customer_type:
            by_type.setdefault(g.customer_type.strip().casefold(), []).append(g.id)
    keys += ["side:" + ",".join(map(str, ids)) for ids in by_type.values() if len(ids) >= 2]
    if len(groups) >= 2:
        keys.append("overlay")
    return keys


def mark_counts(the_map, kinds=("step", "touchpoint")) -> Counter:
    """How many post-its of a (validated) map carry each customer mark ("unreviewed": none)."""
    return Counter(n.mark or "unreviewed" for s in the_map.stages for n in s.notes
                   if n.kind in kinds)


def lowest_stage(the_map) -> tuple[str, float] | None:
    """The stage with the lowest mean team emotion, and that mean (None: no emotions)."""
    means = []
    for stage in the_map.stages:
        scores = [n.score for n in stage.notes if n.kind == "emotion" and n.score is not None]
        if scores:
            means.append((sum(scores) / len(scores), stage.name))
    if not means:
        return None
    mean, name = min(means)
    return name, mean
