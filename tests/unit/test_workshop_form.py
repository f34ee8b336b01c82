"""The new-workshop form: every field problem is reported at once, as data."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from workflows.problems import Invalid
from workflows.workshops import DEFAULT_DEPARTMENTS, WorkshopForm


def form(**overrides) -> WorkshopForm:
    values = dict(name="Spring journey", channel_id="C1", language="en",
                  timezone="Europe/Paris", day1_date="2027-03-02", day1_time="09:00",
                  day2_date="2027-03-03", day2_time="09:30",
                  objectives="Raise satisfaction | CSAT\nFind pain points | NPS",
                  customer_types="Students\nFamilies\nstudents",
                  channel_focuses=["online", "omnichannel", "bogus"], departments="",
                  min_group_size="4", max_group_size="6")
    values.update(overrides)
    return WorkshopForm(**values)


def problems(f: WorkshopForm) -> dict[str, str]:
    with pytest.raises(Invalid) as caught:
        f.parse()
    return {field: p.code for field, p in caught.value.fields.items()}


def test_a_good_form_parses():
    draft = form().parse()
    assert draft.day1_start == datetime(2027, 3, 2, 8, 0, tzinfo=timezone.utc)  # CET
    assert draft.day2_start == datetime(2027, 3, 3, 8, 30, tzinfo=timezone.utc)
    assert draft.objectives == (("Raise satisfaction", "CSAT"), ("Find pain points", "NPS"))
    assert draft.customer_types == ("Students", "Families")  # duplicates dropped
    assert draft.channel_focuses == ("online", "omnichannel")
    assert draft.departments == DEFAULT_DEPARTMENTS


def test_every_problem_is_reported_at_once():
    found = problems(form(name="  ", channel_id=None, timezone="Mars/Olympus",
                          objectives="No KPI here", min_group_size="7", max_group_size="5"))
    assert found == {"name": "name_required", "channel": "channel_required",
                     "timezone": "timezone_unknown", "objectives": "objective_needs_kpi",
                     "max_group_size": "group_bounds_order"}


def test_day2_must_follow_day1():
    assert problems(form(day2_date="2027-03-01")) == {"day2_date": "day2_before_day1"}
    assert problems(form(day2_date="2027-03-02", day2_time="09:00")) == {
        "day2_date": "day2_before_day1"}


def test_select_limits_are_enforced():
    many = "\n".join(f"Type {n}" for n in range(101))
    assert problems(form(customer_types=many)) == {"customer_types": "too_many"}
    assert problems(form(departments="x" * 76)) == {"departments": "line_too_long"}
    assert problems(form(name="n" * 151)) == {"name": "too_long"}


def test_department_labels_map_back_to_keys():
    draft = form(departments="Marketing\nSAV\nInnovation lab",
                 department_aliases={"marketing": "marketing", "sav": "after_sales"}).parse()
    assert draft.departments == ("marketing", "after_sales", "Innovation lab")


def test_dst_is_respected():
    # 2027-03-28 is the spring-forward day in Paris: 09:00 local is 07:00 UTC.
    draft = form(day1_date="2027-03-28", day2_date="2027-03-29").parse()
    assert draft.day1_start == datetime(2027, 3, 28, 7, 0, tzinfo=timezone.utc)
