"""Tests for workflows.rendering: valid PNG/PDF bytes for every image, and robustness against
empty maps, huge cells, long text, emoji, right-to-left text, missing fonts, odd values.
The acceptance trio (empty, typical and extreme maps as PNG and PDF) checks real output sizes
and content; the fast drawing path is checked against matplotlib's own text drawing."""

from __future__ import annotations

import gc
import io
import logging
import re
import subprocess
import sys
import threading
import warnings
import zlib
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from matplotlib.backends.backend_agg import RendererAgg
from PIL import Image

from workflows import rendering
from workflows.rendering import (
    JourneyMap,
    MapLabels,
    MapNote,
    MapStage,
    alt_text,
    render_comparison,
    render_emotion_overlay,
    render_map,
    render_participation,
    render_side_by_side,
)

ROOT = Path(__file__).resolve().parents[2]
LOW = 40  # dpi for tests: small images, same layout


@pytest.fixture(autouse=True)
def no_placeholder(caplog):
    """Fail a test if a renderer fell back to its placeholder (it logs an error then)."""
    caplog.set_level(logging.WARNING)
    yield
    problems = [r for r in caplog.records if r.name == "workflows.rendering"
                or (r.name.startswith("matplotlib") and r.levelno >= logging.WARNING)]
    assert not problems, [r.getMessage() for r in problems]


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(io.BytesIO(data)) as image:
        image.verify()
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        width, height = image.size
    assert 150 <= width <= 20000 and 60 <= height <= 20000, (width, height)
    return width, height


def assert_pdf(data: bytes) -> None:
    assert data.startswith(b"%PDF")
    assert data.rstrip().endswith(b"%%EOF")


def note(kind: str, text: str, **kw) -> MapNote:
    return MapNote(kind, text, **kw)


def sample_map(version: str = "hypothetical") -> JourneyMap:
    stages = (
        MapStage("Awareness", (
            note("step", "Sees an Instagram ad for the young professionals offer", author="Ana"),
            note("touchpoint", "Sponsored story", channel="social"),
            note("touchpoint", "Word of mouth at work", channel="word of mouth"),
            note("action", "Searches the brand on Google"),
            note("emotion", "Curious", score=1, author="Ben"),
            note("emotion", "Yet another ad…", score=0),
            note("pain", "Generic message: the offer is unclear", votes=6),
            note("opportunity", "Real customer stories in ads", votes=7),
            note("kpi", "Click-through rate"),
        ), customer_score=0.5 if version == "validated" else None),
        MapStage("Purchase", (
            note("step", "Fills in a 14-field form", mark="confirmed", confirmations=4),
            note("step", "Pays by card", mark="rejected"),
            note("step", "Pays by instant transfer", origin="customer", mark="new"),
            note("touchpoint", "Sign-up funnel", channel="website", mark="corrected"),
            note("emotion", "Annoyed", score=-2),
            note("emotion", "I give up on mobile", score=-1),
            note("pain", "Form impossible to finish on mobile", votes=14, author="Chloé"),
            note("pain", "ID proof asked at the very end", votes=8),
            note("opportunity", "Pre-fill with a digital ID", votes=10),
        ), customer_score=-1.7 if version == "validated" else None),
        MapStage("Retention", (
            note("step", "Uses the app every day"),
            note("touchpoint", "Mobile app", channel="app"),
            note("emotion", "Smooth app", score=2),
            note("pain", "Phone wait over 15 minutes", votes=7),
            note("kpi", "Churn at 12 months"),
        )),
    )
    if version != "validated":
        stages = tuple(replace(s, notes=tuple(replace(n, mark=None, origin="participant",
                                                      confirmations=0) for n in s.notes))
                       for s in stages)
    return JourneyMap("Customer journey workshop 2025", "Group 2", "Young urban professionals",
                      "100% online", version, date(2025, 3, 12), stages)


def with_stages(*stages: MapStage, **kw) -> JourneyMap:
    return replace(sample_map(), stages=tuple(stages), **kw)


# --- every image is a valid PNG / PDF --------------------------------------------------------


def test_render_map_png_and_pdf():
    m = sample_map()
    width, height = png_size(render_map(m, dpi=LOW))
    assert width > height / 3
    pdf = render_map(m, fmt="pdf")
    assert_pdf(pdf)
    box = re.search(rb"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert box, "no page size"
    page = sorted(round(float(v)) for v in box.groups())
    assert page == [842, 1191]  # A3, in points


def test_dpi_scales_the_png():
    m = sample_map()
    small, large = png_size(render_map(m, dpi=LOW)), png_size(render_map(m, dpi=2 * LOW))
    assert large[0] == pytest.approx(2 * small[0], abs=2)


def test_validated_map_with_marks_and_customer_curve():
    m = sample_map("validated")
    png_size(render_map(m, dpi=LOW))
    text = alt_text(m)
    assert "1 confirmed" in text and "1 rejected" in text
    assert "Customers' lowest moment: Purchase (-1.7)" in text


def test_output_is_deterministic():
    m = sample_map("validated")
    assert render_map(m, dpi=LOW) == render_map(m, dpi=LOW)
    assert render_map(m, fmt="pdf") == render_map(m, fmt="pdf")


def test_french_labels_and_accents():
    labels = replace(MapLabels.english(), lanes={"step": "Étapes", "emotion": "Émotions"},
                     decimal=",", date="{day} {month} {year}", months=("janvier",) * 12,
                     alt_lowest="Moment le plus difficile : {stage} ({score}){quote}.")
    m = replace(sample_map(), group="Groupe 2", stages=(
        replace(sample_map().stages[0], name="Prise de conscience"),
        replace(sample_map().stages[1], name="Considération")))
    png_size(render_map(m, labels, dpi=LOW))
    text = alt_text(m, labels)
    assert "Moment le plus difficile : Considération (-1,5)" in text
    assert "12 janvier 2025" in text


def test_other_images_png_and_pdf():
    hypothetical, validated = sample_map(), sample_map("validated")
    offline = replace(hypothetical, group="Group 5", channel_focus="100% offline")
    images = [
        render_comparison(hypothetical, validated, dpi=LOW),
        render_side_by_side([hypothetical, offline, validated], dpi=LOW),
        render_emotion_overlay([hypothetical, offline, validated], dpi=LOW),
        render_participation({"Marketing": 9, "Customer experience": 7, "Finance": 2},
                             "Participation by department", dpi=LOW, total="{n} people"),
    ]
    for data in images:
        png_size(data)
    assert_pdf(render_comparison(hypothetical, validated, fmt="pdf"))
    assert_pdf(render_side_by_side([hypothetical, offline], fmt="pdf"))
    assert_pdf(render_emotion_overlay([hypothetical, offline], fmt="pdf"))
    assert_pdf(render_participation({"Sales": 3}, "Participation", fmt="pdf"))


def test_unsupported_format_is_a_programming_error():
    with pytest.raises(ValueError, match="unsupported image format"):
        render_map(sample_map(), fmt="gif")
    assert render_map(sample_map(), fmt="svg").lstrip().startswith(b"<?xml")


# --- acceptance: an empty, a typical and an extreme map, as PNG and PDF ----------------------


def pixels(data: bytes) -> np.ndarray:
    """Decoded RGB pixels of a PNG (checked: signature, CRCs, zlib stream)."""
    png_size(data)
    with Image.open(io.BytesIO(data)) as image:
        assert image.mode == "RGB"
        return np.asarray(image.convert("RGB"))


def assert_drawn(rgb: np.ndarray, *, colours: int, ink: float) -> None:
    """Not blank: many distinct colours (antialiased text, fills) and some dark ink."""
    distinct = len(np.unique(rgb.reshape(-1, 3).astype(np.int32) @ [65536, 256, 1]))
    non_white = (rgb.min(axis=2) < 250).mean()
    dark = (rgb.astype(np.int32).sum(axis=2) < 3 * 128).mean()
    assert distinct > colours, distinct
    assert non_white > 0.2, non_white
    assert dark > ink, dark


def assert_a3_pdf(data: bytes, *, smallest: int = 10_000, largest: int = 3_000_000) -> None:
    assert_pdf(data)
    assert smallest < len(data) < largest, len(data)
    box = re.search(rb"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", data)
    assert box and sorted(round(float(v)) for v in box.groups()) == [842, 1191]
    assert b"/FontFile2" in data  # TrueType fonts embedded: vector, selectable text


STAGES = ("Awareness", "Consideration", "Purchase", "Onboarding", "Loyalty")
PHRASES = {
    "step": ("Sees a sponsored video about the offer", "Compares three offers online",
             "Fills in the sign-up form", "Receives the welcome e-mail",
             "Uses the app every week", "Calls support about a direct debit"),
    "touchpoint": ("Sponsored story", "Price comparison site", "Sign-up funnel",
                   "Welcome e-mail", "Mobile app", "Support hotline"),
    "action": ("Searches the brand on Google", "Asks friends on WhatsApp",
               "Gives up on mobile, finishes on a laptop", "Turns notifications on"),
    "emotion": ("Curious", "Lost among the options", "Annoyed: the form never ends",
                "Relieved when it's done", "Happy, the app is smooth"),
    "pain": ("Fourteen-field form impossible to finish on mobile", "Hidden fees",
             "Waiting more than 15 minutes on the phone", "Unclear message in the ads"),
    "opportunity": ("Pre-fill with a digital ID", "Price simulator in three questions",
                    "Call-back instead of waiting"),
}
CHANNELS = ("social", "reviews", "website", "email", "app", "phone")


def typical_map() -> JourneyMap:
    """Five stages, 60 post-its: steps, touchpoints, actions, emotions with scores, pain
    points and opportunities with votes, some authors - a real workshop's map."""
    stages = []
    for i, name in enumerate(STAGES):
        notes = []
        for kind, count in (("step", 3), ("touchpoint", 2), ("action", 2), ("emotion", 2),
                            ("pain", 2), ("opportunity", 1)):
            for j in range(count):
                texts = PHRASES[kind]
                notes.append(note(kind, texts[(i + j) % len(texts)],
                                  channel=CHANNELS[(i + j) % 6] if kind == "touchpoint" else None,
                                  score=((i * 3 + j) % 5) - 2 if kind == "emotion" else None,
                                  votes=(i * 7 + j * 3) % 12 if kind in ("pain", "opportunity")
                                  else 0,
                                  author=("Ana", "Ben", None)[(i + j) % 3]))
        stages.append(MapStage(name, tuple(notes)))
    return replace(sample_map(), stages=tuple(stages))


def extreme_map() -> JourneyMap:
    """300 post-its over 12 stages, 500-character texts mixing emoji, Arabic and Hebrew,
    customer marks, votes and scores everywhere."""
    mixed = ("Paiement refusé 💳😡 trois fois — الدفع صعب جدا — התשלום קשה — "
             "the form loses everything 🧑‍🤝‍🧑 when the app goes to background. ")
    stages = []
    for i in range(12):
        notes = tuple(
            note(rendering.KINDS[k % 7], (f"{i}.{k} " + mixed * 5)[:500],
                 channel=("app", "📱 chat", "website")[k % 3], score=k % 5 - 2,
                 votes=(k * 37) % 101, author=f"Ана 👩‍💻 {k}",
                 origin="customer" if k % 4 == 0 else "participant",
                 mark=("confirmed", "corrected", "new", "rejected", None)[k % 5],
                 confirmations=k % 7)
            for k in range(25))
        stages.append(MapStage(f"Étape {i} — رحلة العميل 🚀 " + "x" * 40, notes,
                               customer_score=(i % 9) / 2 - 2))
    return replace(sample_map("validated"), stages=tuple(stages),
                   workshop="Atelier 2025 🧭 — ورشة العمل", group="Группа 7 · קבוצה")


def test_acceptance_empty_map():
    empty = with_stages(MapStage("Awareness"), MapStage("Purchase"), MapStage("Retention"))
    for m in (empty, with_stages()):
        rgb = pixels(render_map(m))
        height, width, _ = rgb.shape
        assert 1000 <= width <= 1600 and 400 <= height <= 1400, (width, height)
        assert_drawn(rgb, colours=300, ink=0.003)  # header, lanes, the "no post-its" panel
        assert_a3_pdf(render_map(m, fmt="pdf"))


def test_acceptance_typical_map():
    m = typical_map()
    assert sum(len(s.notes) for s in m.stages) == 60
    rgb = pixels(render_map(m))  # what Slack gets: the default dpi
    height, width, _ = rgb.shape
    assert 1800 <= width <= 2200 and 1600 <= height <= 3200, (width, height)
    assert_drawn(rgb, colours=1500, ink=0.01)
    assert_a3_pdf(render_map(m, fmt="pdf"), smallest=40_000)
    text = alt_text(m)
    assert "5 stages" in text and "60 post-its" in text


def test_acceptance_extreme_map():
    m = extreme_map()
    assert sum(len(s.notes) for s in m.stages) == 300
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="Glyph")
        rgb = pixels(render_map(m))
        pdf = render_map(m, fmt="pdf")
    height, width, _ = rgb.shape
    assert 3000 <= width <= 4000 and 2000 <= height <= 8000, (width, height)
    assert_drawn(rgb, colours=1500, ink=0.01)
    assert_a3_pdf(pdf, smallest=40_000)
    assert len(alt_text(m)) <= 1000


# --- the fast drawing path --------------------------------------------------------------------

SAMPLES = ("Voit une publicité Instagram pour l'offre", "AVATAR To Vo Wa “Yes”, 7/4",
           "efficace, fidèle, réflexe, affluence", "4× « c'est moi » · 11 votes",
           "✓ confirmé ✎ corrigé ★ nouveau ✗ rejeté −1,7")


@pytest.mark.skipif(not rendering._FAST_TEXT, reason="needs matplotlib >= 3.11")
def test_own_layout_matches_matplotlibs_shaper():
    for weight, style in (("normal", "normal"), ("bold", "normal"), ("normal", "italic")):
        face = rendering._Fonts("DejaVu Sans").face(weight, style)
        assert face.simple
        for text in SAMPLES:
            glyphs, width = face.shape(text)
            items = face._font._layout(text, flags=rendering._LOAD_NO_HINTING)  # 100 px/em
            assert [g for g, _, _ in glyphs] == [item.glyph_index for item in items]
            for k, ((_, pen, _), item) in enumerate(zip(glyphs, items, strict=True)):
                assert abs(pen * 100 - item.x) <= 0.05 + k / 64
    assert face.shape("رحلة العميل") is None  # right-to-left: matplotlib's shaper
    assert face.shape("e\u0301") is None  # a combining mark


@pytest.mark.skipif(not rendering._FAST_TEXT, reason="needs matplotlib >= 3.11")
def test_fast_text_looks_like_matplotlibs_text(monkeypatch):
    """Cached glyph bitmaps + own layout vs matplotlib's own Agg text drawing, the same
    lines: the same pixels up to antialiasing at glyph edges (origins snapped to 1/4 px)."""
    fonts = rendering._Fonts("DejaVu Sans")
    sheet = rendering._Sheet(fonts)
    y = 20.0
    for i, text in enumerate(SAMPLES + ("رحلة العميل: الدفع صعب جدا",)):
        for weight, style, ha, x in (("normal", "normal", "left", 10.3),
                                     ("bold", "normal", "center", 260.0),
                                     ("normal", "italic", "right", 470.7)):
            style = fonts.style_for(text, weight, style)
            sheet.text(x, y, fonts.clean(text, weight, style), size=(10, 8.3, 12.5)[i % 3],
                       weight=weight, style=style, ha=ha, color=rendering.INK, halo=i == 3)
            y += 17.3
    fast = pixels(sheet.render(480, y, "png", 150)).astype(int)
    monkeypatch.setattr(rendering, "_FAST_TEXT", False)
    reference = pixels(sheet.render(480, y, "png", 150)).astype(int)
    diff = np.abs(fast - reference).max(axis=2)
    assert diff.mean() < 1.0, diff.mean()
    assert (diff > 64).mean() < 0.002, (diff > 64).mean()
    ink_fast, ink_ref = np.argwhere(fast.sum(axis=2) < 600), np.argwhere(reference.sum(axis=2) < 600)
    assert np.abs(ink_fast.min(axis=0) - ink_ref.min(axis=0)).max() <= 1
    assert np.abs(ink_fast.max(axis=0) - ink_ref.max(axis=0)).max() <= 1


@pytest.mark.skipif(not rendering._FAST_TEXT, reason="needs matplotlib >= 3.11")
def test_fast_text_failure_falls_back_to_matplotlib_text(monkeypatch, caplog):
    """If matplotlib's private glyph calls change, text is drawn the public way (and the
    warning is logged once), instead of a placeholder image."""
    m = sample_map("validated")
    monkeypatch.setattr(rendering, "_FAST_TEXT", False)
    reference = render_map(m, dpi=LOW)
    monkeypatch.setattr(rendering, "_FAST_TEXT", True)

    def broken(*args, **kwargs):
        raise AttributeError("FT2Font has no attribute '_render_glyph'")

    monkeypatch.setattr(rendering, "_text_mask", broken)
    assert render_map(m, dpi=LOW) == reference
    assert rendering._FAST_TEXT is False
    assert [r.getMessage() for r in caplog.records if r.name == "workflows.rendering"] == [
        "fast text drawing failed; using matplotlib's draw_text"]
    caplog.clear()  # expected here: keep the autouse check for the other tests


def test_png_writer_round_trip():
    rng = np.random.default_rng(7)
    rgba = rng.integers(0, 256, size=(700, 600, 4), dtype=np.uint8)  # > 1 MB: parallel deflate
    rgba[:300] = 255
    data = rendering._png(memoryview(rgba), 120)
    with Image.open(io.BytesIO(data)) as image:
        assert image.mode == "RGB" and image.size == (600, 700)
        assert round(image.info["dpi"][0]) == 120
        assert (np.asarray(image) == rgba[:, :, :3]).all()
    head, tail = b"journey" * 1000, b"bot" * 5000
    combined = rendering._adler32_combine(zlib.adler32(head), zlib.adler32(tail), len(tail))
    assert combined == zlib.adler32(head + tail)


def test_a_render_frees_its_pixels_at_once():
    """Figure and canvas form a cycle: the renderer's buffer must not wait for the GC
    (that made RSS climb by hundreds of MB between collections)."""
    gc.collect()
    gc.disable()
    try:
        render_map(sample_map(), dpi=LOW)
        alive = [o for o in gc.get_objects() if isinstance(o, RendererAgg)]
    finally:
        gc.enable()
    assert not alive


# --- robustness -------------------------------------------------------------------------------


def test_map_without_post_its_draws_the_empty_state():
    m = with_stages(MapStage("Awareness"), MapStage("Purchase"), MapStage("Retention"))
    png_size(render_map(m, dpi=LOW))
    assert "No post-its yet" in alt_text(m)


def test_zero_stages():
    m = with_stages()
    png_size(render_map(m, dpi=LOW))
    assert_pdf(render_map(m, fmt="pdf"))
    assert "No stages yet" in alt_text(m)
    png_size(render_comparison(m, m, dpi=LOW))
    png_size(render_side_by_side([m], dpi=LOW))
    png_size(render_emotion_overlay([m], dpi=LOW))


def test_a_stage_with_80_post_its_is_capped():
    crowded = tuple(note(kind, f"{kind} number {i} with a few words", votes=i, score=i % 5 - 2)
                    for i in range(80)
                    for kind in ("step",))
    normal = with_stages(MapStage("Awareness", crowded[:2]))
    full = with_stages(MapStage("Awareness", crowded))
    h_normal = png_size(render_map(normal, dpi=LOW))[1]
    h_full = png_size(render_map(full, dpi=LOW))[1]
    assert h_full < h_normal * 2  # at most MAX_NOTES_PER_CELL post-its + "+N more"
    every_kind = with_stages(MapStage("Everything", tuple(
        note(kind, f"{kind} {i}", votes=i, score=2) for i in range(12)
        for kind in rendering.KINDS)))
    png_size(render_map(every_kind, dpi=LOW))


def test_500_character_text_wraps_and_is_truncated():
    long = ("Le formulaire d'inscription demande quatorze champs dont un justificatif " * 8)[:500]
    word = "x" * 500  # one unbreakable word
    m = with_stages(MapStage(long, (note("step", long), note("pain", word, votes=3),
                                    note("emotion", long, score=-1))),
                    workshop=long, group=long, customer_type=long, channel_focus=word)
    width, height = png_size(render_map(m, dpi=LOW))
    assert height < 2000
    assert len(alt_text(m)) <= 1000
    png_size(render_side_by_side([m, m], dpi=LOW))
    png_size(render_comparison(m, m, dpi=LOW))


EMOJI = "Great service 👍🦄🚀 ❤️ 漢字 🧑‍🤝‍🧑 e\u0301"


def test_emoji_and_unsupported_glyphs_are_dropped_without_warnings():
    m = with_stages(MapStage(f"Stage {EMOJI}", (
        note("step", EMOJI, author="👩‍💻 Dev"),
        note("touchpoint", EMOJI, channel="📱"),
        note("emotion", "🙂🙂", score=1),  # nothing drawable left: drawn as "…"
        note("pain", EMOJI, votes=2),
    )), workshop=EMOJI, group=EMOJI)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png_size(render_map(m, dpi=LOW))
        assert_pdf(render_map(m, fmt="pdf"))
        png_size(render_side_by_side([m], dpi=LOW))
        png_size(render_participation({EMOJI: 3}, EMOJI, dpi=LOW))
    glyphs = [str(w.message) for w in caught if "Glyph" in str(w.message)]
    assert not glyphs, glyphs
    fonts = rendering._Fonts("DejaVu Sans")
    cleaned = fonts.clean(EMOJI)
    assert "🦄" not in cleaned and "漢" not in cleaned
    assert cleaned.startswith("Great service") and cleaned.endswith("é")


def test_right_to_left_text_is_drawn():
    arabic, hebrew = "رحلة العميل: الدفع صعب جدا", "מסע הלקוח: התשלום קשה"
    m = with_stages(MapStage(arabic, (note("step", arabic), note("emotion", hebrew, score=-1),
                                      note("pain", f"{hebrew} / {arabic}", votes=3))))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png_size(render_map(m, dpi=LOW))
    assert not [w for w in caught if "Glyph" in str(w.message)]
    # the italic quote face has no Arabic: the quote is drawn upright instead of dropped
    fonts = rendering._Fonts("DejaVu Sans")
    assert fonts.style_for(arabic, "normal", "italic") == "normal"
    assert fonts.clean(arabic) == arabic


def test_missing_font_falls_back_to_dejavu_silently():
    m = sample_map()
    labels = replace(MapLabels.english(), font="No Such Font 42")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = render_map(m, labels, dpi=LOW)
        chart = render_participation({"Sales": 1}, "Title", dpi=LOW, font="Nope Sans")
    assert not caught
    assert data == render_map(m, dpi=LOW)
    png_size(chart)


def test_fifteen_stages_widen_the_map():
    stages = tuple(MapStage(f"Stage {i} with a longer name", (
        note("step", f"Step {i}"), note("emotion", "ok", score=(i % 5) - 2)))
        for i in range(15))
    narrow = png_size(render_map(with_stages(*stages[:5]), dpi=LOW))[0]
    wide = png_size(render_map(with_stages(*stages), dpi=LOW))[0]
    assert wide > narrow * 2
    text = alt_text(with_stages(*stages))
    assert "15 stages" in text and len(text) <= 1000


def test_scores_out_of_range_are_clamped():
    m = with_stages(
        MapStage("High", (note("emotion", "wow", score=99),), customer_score=7.5),
        MapStage("Low", (note("emotion", "awful", score=-50), note("emotion", "x",
                                                                    score=float("nan"))),
                 customer_score=float("-inf")),
        MapStage("Text", (note("emotion", "?", score="3"),)),  # type: ignore[arg-type]
    )
    png_size(render_map(m, dpi=LOW))
    text = alt_text(m)
    assert "Lowest emotional moment: Low (-2.0)" in text
    assert "Customers' lowest moment: Low (-2.0)" in text


def test_none_fields_everywhere():
    odd = MapNote(None, None, channel=None, score=None, votes=None, author=None,  # type: ignore[arg-type]
                  origin=None, mark="bogus", confirmations=None)  # type: ignore[arg-type]
    m = JourneyMap(None, None, None, None, None, None, (  # type: ignore[arg-type]
        MapStage(None, (odd, None, replace(odd, kind="pain"), replace(odd, kind="blob"))),  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        MapStage("", None),  # type: ignore[arg-type]
    ))
    png_size(render_map(m, dpi=LOW))
    png_size(render_map(m, None, dpi=LOW))
    assert isinstance(alt_text(m), str)
    png_size(render_comparison(m, m, dpi=LOW))
    png_size(render_side_by_side([m, None], dpi=LOW))  # type: ignore[list-item]
    png_size(render_emotion_overlay([m], dpi=LOW))
    nothing = JourneyMap(None, None, None, None, None, None, None)  # type: ignore[arg-type]
    png_size(render_map(nothing, dpi=LOW))
    assert alt_text(nothing)


def test_participation_odd_counts():
    png_size(render_participation({}, "Participation", dpi=LOW))
    png_size(render_participation({"A": -3, "B": None, "": 4, "C": 10**12, "D": "7"},  # type: ignore[dict-item]
                                  None, dpi=LOW))  # type: ignore[arg-type]
    png_size(render_participation({f"Department {i}": i for i in range(60)}, "Many", dpi=LOW))


def test_overlay_with_many_groups_and_uneven_stages():
    maps = [replace(sample_map(), group=f"Group {i}", stages=sample_map().stages[: 1 + i % 3])
            for i in range(9)]
    png_size(render_emotion_overlay(maps, dpi=LOW))
    png_size(render_emotion_overlay([], dpi=LOW))
    png_size(render_side_by_side(maps, dpi=LOW))
    png_size(render_side_by_side([], dpi=LOW))


def test_broken_templates_fall_back_to_english():
    labels = replace(MapLabels.english(), more="{count} more", votes="{n votes",
                     alt_stages="{missing}", date="{month[9]}", months=("only one",))
    crowded = with_stages(MapStage("Awareness", tuple(note("pain", f"p{i}", votes=i)
                                                     for i in range(9))))
    png_size(render_map(crowded, labels, dpi=LOW))
    assert "1 stages: Awareness." in alt_text(crowded, labels)


def test_a_drawing_bug_returns_a_placeholder_and_logs(monkeypatch, caplog):
    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(rendering, "_layout_map", boom)
    png_size(render_map(sample_map(), dpi=LOW))
    assert any("could not draw journey map" in r.getMessage() for r in caplog.records)
    caplog.clear()  # expected here: keep the autouse check for the other tests


def test_concurrent_renders_from_threads():
    results: list[bytes] = []

    def work() -> None:
        results.append(render_map(sample_map("validated"), dpi=LOW))

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 3 and len(set(results)) == 1


def test_module_stays_free_of_pyplot_and_slack():
    code = ("import sys, workflows.rendering; "
            "print(sorted(m for m in ('matplotlib.pyplot', 'slack_sdk', 'slack_bolt', "
            "'sqlalchemy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- alt text ---------------------------------------------------------------------------------


def test_alt_text_mentions_stages_lowest_moment_and_top_pain():
    text = alt_text(sample_map())
    assert len(text) <= 1000
    assert "Hypothetical map — Group 2 — Customer journey workshop 2025." in text
    assert "3 stages: Awareness, Purchase, Retention." in text
    assert "Lowest emotional moment: Purchase (-1.5) — “Annoyed”." in text
    assert "Top pain point: “Form impossible to finish on mobile” (14 votes, Purchase)." in text


def test_alt_text_stays_under_1000_characters():
    stages = tuple(MapStage("Stage " + "n" * 200, (note("pain", "p" * 500, votes=1),
                                                 note("emotion", "e" * 500, score=-2)))
                   for _ in range(12))
    text = alt_text(with_stages(*stages, workshop="w" * 500, group="g" * 500))
    assert len(text) <= 1000
    assert "12 stages" in text


# --- property: any map renders -----------------------------------------------------------------

texts = st.text(max_size=120)
notes = st.builds(
    MapNote,
    kind=st.sampled_from([*rendering.KINDS, "other"]),
    text=texts,
    channel=st.none() | st.sampled_from(["website", "store", "sms", "app"]) | texts,
    score=st.none() | st.integers(-5, 5),
    votes=st.integers(0, 500),
    author=st.none() | st.text(max_size=30),
    origin=st.sampled_from(["participant", "customer"]),
    mark=st.none() | st.sampled_from(["confirmed", "corrected", "new", "rejected"]),
    confirmations=st.integers(0, 9),
)
stages = st.builds(
    MapStage,
    name=st.text(max_size=60),
    notes=st.lists(notes, max_size=12).map(tuple),
    customer_score=st.none() | st.floats(-4, 4, allow_nan=False),
)
maps = st.builds(
    JourneyMap,
    workshop=texts,
    group=st.text(max_size=40),
    customer_type=st.none() | texts,
    channel_focus=st.none() | st.text(max_size=40),
    version=st.sampled_from(["hypothetical", "validated"]),
    made_on=st.dates(),
    stages=st.lists(stages, max_size=12).map(tuple),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.data_too_large])
@given(maps)
def test_any_map_renders(m):
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="Glyph")
        png_size(render_map(m, dpi=20))
    assert len(alt_text(m)) <= 1000
