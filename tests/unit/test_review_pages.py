"""The review web page's pure parts (bot/review_pages.py): reading the form, the customer's
language, and the HTML (every control labelled, errors wired to their fields, text escaped)."""

from __future__ import annotations

import re

import pytest

from bot.review_pages import (
    Forged,
    page_html,
    parse_answers,
    preferred_languages,
    refusal_html,
)
from workflows.validation import ReviewItem, ReviewPage


def page(**overrides) -> ReviewPage:
    values = dict(index=1, total=4, group_id=1, group_number=1, customer_type="Students",
                  channel_focus="online", stage_id=7, stage_key="purchase", stage_name=None,
                  part=1, parts=1, items=(
                      ReviewItem(11, "step", "Pays <b>now</b>", None, "yes"),
                      ReviewItem(12, "touchpoint", "Gets a receipt", "email", "not_quite",
                                 "By SMS")), feeling=-1)
    values.update(overrides)
    return ReviewPage(**values)


def test_the_form_becomes_page_answers():
    answers, values = parse_answers({
        "page": ["2"], "verdict_11": ["yes"], "correction_11": [""],
        "correction_12": ["By post"], "missing": ["A call"], "feeling": ["-2"],
        "feeling_text": ["meh"], "unrelated": ["x"]})
    assert answers.verdicts == {11: ("yes", ""), 12: ("not_quite", "By post")}
    assert (answers.missing, answers.feeling, answers.feeling_text) == ("A call", -2, "meh")
    assert values.verdicts == {11: "yes", 12: "not_quite"} and values.feeling == "-2"
    assert parse_answers({"feeling": ["lots"]})[0].feeling == 99  # → score_range inline
    assert parse_answers({"feeling": [""]})[0].feeling is None
    for forged in ("verdict_abc", "correction_1 OR 1=1", "verdict_" + "9" * 20):
        with pytest.raises(Forged):
            parse_answers({forged: ["yes"]})


def test_the_browser_language_decides_when_the_customer_is_unknown():
    assert preferred_languages("fr-CA,fr;q=0.9,en;q=0.8", "en") == ["fr", "en"]
    assert preferred_languages("de-DE,en;q=0.5,fr;q=0.7", "en") == ["fr", "en"]
    assert preferred_languages(None, "fr") == ["fr", "en"]
    assert preferred_languages("en;q=0,fr;q=bad", "en") == ["en", "fr"]


def test_every_control_has_a_label_and_errors_point_at_their_field():
    html = page_html(page(), "/review/tok", "en", "n0nce",
                     errors={"correction_12": "Tell us", "feeling": "Pick one"})
    ids = re.findall(r'<(?:input|textarea)[^>]* id="([^"]+)"', html)
    assert len(ids) == 2 * 3 + 2 + 1 + 6 + 1  # radios, corrections, missing, feelings, why
    for ident in ids:
        labelled = f'for="{ident}"' in html or re.search(
            rf'<label class="choice"><input[^>]* id="{re.escape(ident)}"', html)
        assert labelled, ident
    assert 'aria-describedby="correction_12-hint correction_12-error"' in html
    assert '<fieldset class="feeling" aria-invalid="true" aria-describedby="feeling-error">' \
        in html
    assert '<a href="#correction_12">Tell us</a>' in html and 'href="#feeling"' in html
    assert "Pays &lt;b&gt;now&lt;/b&gt;" in html and "<b>" not in html
    assert "Channel: Email" in html and "Journey of: Students (100% online)" in html
    assert "Stage: Purchase" in html and "Page 2 of 4" in html
    assert 'id="feeling_1" value="-1" checked' in html  # saved answers are pre-filled
    assert ">By SMS</textarea>" in html
    assert 'href="/review/tok?page=1"' in html  # Previous
    assert '<style nonce="n0nce">' in html and "<script" not in html


def test_refusals_are_clear_and_escape_what_they_give_back():
    html = refusal_html("validation_closed", ["fr"], "n", kept=["<img src=x>"])
    assert '<html lang="fr">' in html and "La relecture est close" in html
    assert "&lt;img src=x&gt;" in html and "<img" not in html
    both = refusal_html("link_invalid", ["en", "fr"], "n")
    assert '<section class="other-language" lang="fr">' in both
    assert "Something went wrong" in refusal_html("no_such_code", ["en"], "n")


def _luminance(colour: str) -> float:
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_text_and_controls_have_enough_contrast():
    from bot.review_pages import CSS

    css = CSS.replace("#fff;", "#ffffff;").replace("#fff}", "#ffffff}")
    white, tint = "#ffffff", "#eff6ff"
    text_pairs = [("#1a1a1a", white), ("#374151", white), ("#1d4ed8", white),
                  (white, "#1d4ed8"), (white, "#1e3a8a"), ("#b91c1c", white),
                  ("#1a1a1a", tint), ("#1d4ed8", tint)]
    for fore, back in text_pairs:
        assert fore in css and back in css
        assert contrast(fore, back) >= 4.5, (fore, back)
    for border in ("#6b7280", "#4b5563", "#b45309", "#b91c1c"):  # WCAG 1.4.11: 3:1
        assert border in css and contrast(border, white) >= 3, border


def test_socket_mode_serves_the_review_pages_but_never_slack_events():
    from bot.review_pages import review_only_wsgi

    wsgi = review_only_wsgi(services=None)
    seen = []
    for path in ("/slack/events", "/healthz"):
        body = wsgi({"PATH_INFO": path, "REQUEST_METHOD": "POST" if "slack" in path else "GET"},
                    lambda status, headers: seen.append(status))
        assert body
    assert seen == ["404 Not Found", "200 OK"]
