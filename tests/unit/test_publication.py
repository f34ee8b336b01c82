"""What a publication contains (workflows/publication.py): plain values, no rendering."""

from __future__ import annotations

from types import SimpleNamespace as Row

from workflows.publication import VALIDATED_PHASES, comparison_views, lowest_stage, mark_counts


def test_comparison_views_pair_groups_of_one_customer_type():
    groups = [Row(id=1, customer_type="Families"), Row(id=2, customer_type="Students"),
              Row(id=3, customer_type=" families "), Row(id=4, customer_type=None)]
    assert comparison_views(groups) == ["compare:1", "compare:2", "compare:3", "compare:4",
                                        "side:1,3", "overlay"]
    assert comparison_views([Row(id=1, customer_type="Families")]) == ["compare:1"]


def test_mark_counts_and_the_lowest_stage():
    note = lambda kind, mark=None, score=None: Row(kind=kind, mark=mark, score=score)  # noqa: E731
    the_map = Row(stages=[
        Row(name="Awareness", notes=[note("step", "confirmed"), note("step"),
                                     note("emotion", score=1)]),
        Row(name="Purchase", notes=[note("touchpoint", "new"), note("pain", "confirmed"),
                                    note("emotion", score=-2), note("emotion", score=0)])])
    assert mark_counts(the_map) == {"confirmed": 1, "unreviewed": 1, "new": 1}
    assert lowest_stage(the_map) == ("Purchase", -1.0)
    assert lowest_stage(Row(stages=[Row(name="x", notes=[])])) is None
    assert {"validation", "final_maps", "done"} <= set(VALIDATED_PHASES)
