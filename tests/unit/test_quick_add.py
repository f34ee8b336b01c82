"""Quick text: French and English, accents and case ignored, fuzzy stage names."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workflows.quick_add import StageNames, match_stage, parse

STAGES = {
    11: ["Awareness", "Prise de conscience"],
    12: ["Consideration", "Considération"],
    13: ["Purchase", "Achat"],
    14: ["Retention", "Rétention"],
    15: ["Advocacy", "Recommandation"],
}


@pytest.mark.parametrize(("text", "kind", "stage", "body"), [
    ("pain purchase: payment fails on mobile", "pain", 13, "payment fails on mobile"),
    ("Point de douleur ACHAT : le paiement échoue", "pain", 13, "le paiement échoue"),
    ("opportunité considération: comparateur en ligne", "opportunity", 12,
     "comparateur en ligne"),
    ("step prise de conscience: sees an ad", "step", 11, "sees an ad"),
    ("kpi retension: churn", "kpi", 14, "churn"),          # typo
    ("idea advoc: referral programme", "opportunity", 15, "referral programme"),  # prefix
    ("step 3: pays", "step", 13, "pays"),                   # stage number
    ("opp 2: comparateur", "opportunity", 12, "comparateur"),  # a number 0-2 is a stage too
])
def test_kinds_and_stages(text, kind, stage, body):
    result = parse(text, STAGES)
    assert (result.kind, result.stage_id, result.text) == (kind, stage, body)
    assert result.complete


def test_touchpoint_channel_and_emotion_score():
    tp = parse("touchpoint achat site web: checkout page", STAGES)
    assert (tp.kind, tp.stage_id, tp.channel, tp.text) == ("touchpoint", 13, "website",
                                                           "checkout page")
    emotion = parse("emotion purchase -2: furious about fees", STAGES)
    assert (emotion.score, emotion.text) == (-2, "furious about fees")
    emotion = parse("emotion 2 -1: unsure", STAGES)  # stage number, then score
    assert (emotion.stage_id, emotion.score, emotion.text) == (12, -1, "unsure")
    emotion = parse("émotion achat: +1 rassuré par le suivi", STAGES)
    assert (emotion.score, emotion.text, emotion.complete) == (1, "rassuré par le suivi", True)


def test_unparseable_lines_are_partial_for_a_prefilled_modal():
    assert not parse("payment fails on mobile", STAGES).complete
    partial = parse("pain the checkout is slow", STAGES)
    assert partial.kind == "pain" and partial.stage_id is None
    assert partial.text == "the checkout is slow"
    assert parse("pain nowhere: text", STAGES).stage_id is None
    assert not parse("emotion achat: no score here", STAGES).complete
    assert not parse("touchpoint achat: no channel", STAGES).complete


def test_stage_matching_refuses_far_guesses():
    assert match_stage("zzz", STAGES) is None
    assert match_stage("", STAGES) is None
    assert match_stage("9", STAGES) is None


@given(st.lists(st.sampled_from(["purchase", "achat", "Retension", "advoc", "3", "9", "zzz",
                                 "", "prise de", "CONSIDÉRATION", "a"]), max_size=30)
       | st.lists(st.text(max_size=12), max_size=10))
def test_remembered_matches_are_the_matches(queries):
    """A board's StageNames remembers what each typed name matched: the same answers as
    matching afresh, in any order, repeated or not."""
    names = StageNames(STAGES)
    for query in queries + queries:
        assert match_stage(query, names) == match_stage(query, dict(STAGES))
    assert set(names.matches) <= set(queries)
    assert parse("pain achat: x", names).stage_id == 13


@given(st.lists(st.tuples(
    st.sampled_from(["pain", "Point de douleur", "emotion", "émotion", "touchpoint", "tp",
                     "opp", "kpi", "zzz", ""]),
    st.sampled_from(["purchase", "ACHAT", "retension", "advoc", "3", "2", "", "site web",
                     "email achat", "-2 achat", "achat +1", "9"]),
    st.sampled_from(["x", "1 furious", " -2  late ", "", "a: b"])), max_size=25))
def test_remembered_heads_parse_as_afresh(lines):
    """A board's StageNames also remembers what each line's head (before the colon) meant:
    every line parses as it would against plain names, repeated or not."""
    names = StageNames(STAGES)
    for kind, stage, body in lines + lines:
        text = f"{kind} {stage}: {body}"
        assert parse(text, names) == parse(text, dict(STAGES))
    assert len(names.heads) <= len(lines)
