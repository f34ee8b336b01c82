"""Draw customer journey maps (and the charts around them) as PNG or PDF bytes.

Plain Python + matplotlib: no Slack, no SQL. The Slack layer turns its rows into the frozen
dataclasses below (`JourneyMap`, `MapStage`, `MapNote`), picks a `MapLabels` in the workshop's
language (`MapLabels.english()`, or one it fills with French text from the catalog) and uploads
the bytes these functions return.

Public functions (all return ``bytes``; ``fmt`` is ``"png"`` (default), ``"pdf"`` or ``"svg"``)

``render_map(m, labels=None, *, fmt="png", dpi=120)``
    One working group's map: a header, one column per stage, lanes (rows) for steps,
    touchpoints, customer actions, an emotion curve, pain points, opportunities and KPIs.
    On validated maps: customer marks per post-it and the customers' own emotion curve.
``alt_text(m, labels=None)``
    A text description (<= 1000 characters) for Slack's ``alt_text``.
``render_comparison(hypothetical, validated, labels=None, fmt="png", *, dpi=120, kinds=("step",))``
    What customers changed for one group: per stage, the hypothetical steps next to the
    validated ones with their marks and counts.
``render_side_by_side(maps, labels=None, fmt="png", *, dpi=120)``
    Several maps (typically the same customer type across channel focuses), one compact
    column per map, one row per stage position.
``render_emotion_overlay(maps, labels=None, fmt="png", *, dpi=120)``
    One emotion curve per map on a shared stage axis (stages matched by position).
``render_participation(counts, title, fmt="png", *, dpi=120, font="DejaVu Sans", ...)``
    Horizontal bars: participation by department, for the leadership summary.

Guarantees
    * Nothing here raises on odd data: no post-its, no stages, 80 post-its in one cell,
      500-character notes, emoji, right-to-left text, ``None`` fields, out-of-range scores
      (clamped to -2..+2), unknown note kinds (ignored), a font family that is not installed
      (DejaVu Sans is used, silently). If drawing still fails because of a bug, the error is
      logged on the ``workflows.rendering`` logger and a small placeholder image is returned.
      Only an unsupported ``fmt`` raises (``ValueError``): that is a programming error.
    * Characters the font cannot draw (colour emoji, CJK with DejaVu...) are removed before
      drawing, so matplotlib never warns about missing glyphs. Arabic and Hebrew are drawn
      (shaped and right-to-left with matplotlib >= 3.11, possibly unshaped before).
    * No pyplot: every image is a private ``Figure`` + ``FigureCanvasAgg`` that is cleared
      (and its pixel buffer released) after saving, so a long-running bot does not grow in
      memory (RSS is flat over hundreds of renders; caches are bounded). Renders are
      serialised by a module lock (matplotlib does not promise thread safety, and rendering
      sets ``text.hinting`` through ``rc_context``).
    * Speed (2 cores, see benchmarks/rendering.py): a 5-stage map with ~70 post-its takes
      0.1-0.2 s as a PNG at the default 120 dpi (~0.15-0.2 s at 150 dpi; the first render in a
      process ~0.1-0.2 s more: font files, glyph cache) and ~1.2 s as a PDF (mostly
      fontTools subsetting the embedded fonts, and matplotlib writing the text glyph by
      glyph). Call it from a worker, not in Slack's 3 s ack path. "Drawing" below says how.
    * The same input gives the same bytes (no software name or creation date in the files).
    * Palette: Okabe-Ito (colour-blind safe). Colour is never the only cue: lanes have a shape
      and a title, customer marks have a symbol and a word plus an edge style, the customers'
      curve is dashed with square markers, overlay curves differ in line style and marker.

Sizes
    Layout is computed in points (1/72 inch) from the measured width of the text, so lanes
    grow with their content and columns never overlap. Columns are 200 pt wide up to 5
    stages and narrow to 150 pt from 13 stages (the image gets wider, text keeps its size).
    A cell shows at most `MAX_NOTES_PER_CELL` post-its (then "+N more"), a post-it at most
    `MAX_NOTE_LINES` lines (then "…"). At the default 120 dpi a 5-stage map is about
    1970 px wide. PDF pages are A3 - landscape, or portrait when that prints the map larger -
    with the drawing scaled to fit and centred (vector text, TrueType fonts embedded).

Drawing
    Layout functions record ops on a `_Sheet`; `_Sheet.render` replays them on a Figure (no
    Axes) as ~30 artists rather than ~500: consecutive shapes become one `PathCollection`,
    consecutive texts one `_TextRun`. On Agg, `_TextRun` lays Latin text out itself (advances,
    kerning and f-ligatures read from the font, checked against matplotlib's shaper per font)
    and composites cached FreeType glyph bitmaps - the ones matplotlib's Agg text drawing
    makes, with origins snapped to 1/4 px - one blit per line; right-to-left text and marks
    go through matplotlib's shaper. PDF and SVG get real text through ``draw_text``. PNGs
    are written directly (RGB, no row filter, zlib level 1, two halves deflated in parallel).
"""

from __future__ import annotations

import functools
import io
import logging
import math
import os
import re
import struct
import threading
import unicodedata
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Any

import numpy as np
from matplotlib import ft2font, patheffects, rc_context
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.collections import PathCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, findfont, fontManager
from matplotlib.lines import Line2D
from matplotlib.patches import BoxStyle, PathPatch
from matplotlib.path import Path
from matplotlib.patheffects import PathEffectRenderer
from matplotlib.transforms import Affine2D

__all__ = [
    "KINDS",
    "MAX_NOTES_PER_CELL",
    "MAX_NOTE_LINES",
    "MAX_STAGES",
    "JourneyMap",
    "MapLabels",
    "MapNote",
    "MapStage",
    "alt_text",
    "render_comparison",
    "render_emotion_overlay",
    "render_map",
    "render_participation",
    "render_side_by_side",
]

logger = logging.getLogger(__name__)

KINDS = ("step", "touchpoint", "action", "emotion", "pain", "opportunity", "kpi")
"""Note kinds, in lane order (top to bottom). Notes of any other kind are ignored."""
MARKS = ("confirmed", "corrected", "new", "rejected")
MAX_NOTES_PER_CELL = 5
"""Post-its drawn per (stage, lane) cell on a map; the rest are counted in "+N more"."""
MAX_NOTE_LINES = 6
"""Lines of text drawn per post-it; longer text ends with "…"."""
MAX_STAGES = 30
"""Stages drawn per map; further stages are counted in the footer."""
DEFAULT_FONT = "DejaVu Sans"
DEFAULT_DPI = 120.0
"""PNG resolution: a 5-stage map is ~1970 px wide, crisp at full size in Slack (10 pt text is
17 px high) and the same as 150 dpi in its ~800 px preview, for 35% fewer pixels."""
FORMATS = ("png", "pdf", "svg")


# --------------------------------------------------------------------------------------------
# Input data
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MapNote:
    """One post-it.

    kind: "step" | "touchpoint" | "action" | "emotion" | "pain" | "opportunity" | "kpi".
    channel: for touchpoints, a channel key ("website", "store", "email", "sms", "social",
        "phone", "chat", "ads", "reviews", "app", "sales_rep", "support") or free text.
    score: for emotions, -2..+2 (out-of-range values are clamped).
    votes: for pain points and opportunities (any kind may carry votes).
    author: display name, or None in anonymous mode.
    origin: "participant" or "customer" (added by a real customer on day 2).
    mark: on validated maps, "confirmed" | "corrected" | "new" | "rejected" | None.
    confirmations: how many customers said "yes, that's me".
    """

    kind: str
    text: str
    channel: str | None = None
    score: int | None = None
    votes: int = 0
    author: str | None = None
    origin: str = "participant"
    mark: str | None = None
    confirmations: int = 0


@dataclass(frozen=True)
class MapStage:
    """One stage (a column). ``name`` is already translated.

    customer_score: on validated maps, the customers' mean emotion rating (-2..+2).
    """

    name: str
    notes: tuple[MapNote, ...] = ()
    customer_score: float | None = None


@dataclass(frozen=True)
class JourneyMap:
    """One working group's map. ``group`` and ``channel_focus`` are already translated.

    version: "hypothetical" (day 1) or "validated" (day 2, after customers reviewed it).
    """

    workshop: str
    group: str
    customer_type: str | None
    channel_focus: str | None
    version: str
    made_on: date
    stages: tuple[MapStage, ...]


def _frozen(mapping: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(mapping))


_EN_LANES = _frozen({
    "step": "Steps", "touchpoint": "Touchpoints", "action": "Customer actions",
    "emotion": "Emotions", "pain": "Pain points", "opportunity": "Opportunities", "kpi": "KPIs",
})
_EN_VERSIONS = _frozen({"hypothetical": "Hypothetical map", "validated": "Validated map"})
_EN_MARKS = _frozen({
    "confirmed": "confirmed", "corrected": "corrected", "new": "new", "rejected": "rejected",
})
_EN_MARK_COUNTS = _frozen({
    "confirmed": "{n} confirmed", "corrected": "{n} corrected", "new": "{n} new",
    "rejected": "{n} rejected",
})
_EN_CHANNELS = _frozen({
    "website": "Website", "store": "Store", "email": "Email", "sms": "SMS",
    "social": "Social media", "phone": "Phone", "chat": "Chat", "ads": "Ads",
    "reviews": "Reviews", "app": "Mobile app", "sales_rep": "Sales rep", "support": "Support",
})
_EN_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December")


@dataclass(frozen=True)
class MapLabels:
    """Every word drawn on a map or chart. English defaults; the Slack layer fills French ones.

    Templates use ``str.format`` fields shown in braces; a broken template falls back to the
    English default rather than raising. Mappings may be partial: a missing key falls back
    to the English text, then to the key itself.

    Mappings
        lanes: note kind -> lane title ("step": "Steps", "touchpoint": "Touchpoints",
            "action": "Customer actions", "emotion": "Emotions", "pain": "Pain points",
            "opportunity": "Opportunities", "kpi": "KPIs").
        versions: "hypothetical" / "validated" -> "Hypothetical map" / "Validated map".
        marks: "confirmed" / "corrected" / "new" / "rejected" -> the word on the badge.
        channels: channel key -> label ("website": "Website", "sms": "SMS", ...). Unknown
            keys are shown as given (free text), "_" replaced by a space.
        mark_counts: mark -> count template ("confirmed": "{n} confirmed", ...; French e.g.
            "confirmés : {n}") for the comparison and the alt text.

    Post-its and cells
        more: "+{n} more" under a cell that shows only part of its post-its.
        votes / vote_one: "{n} votes" / "{n} vote" on post-its with votes.
        customer: "customer" - tag on post-its added by a customer (origin "customer").
        confirmed_by: "{n}× “that's me”" - customers who recognised themselves in a post-it.
        empty: "No post-its yet" - a map (or chart) with nothing to draw.
        no_stages: "No stages yet" - a map without stages.

    Header, legend and footer
        customer_type / channel_focus: "Customer type" / "Channel focus" (header labels).
        customers: "Customers" - legend of the customers' emotion curve (validated maps).
        team_curve: "Team (mean)" - legend of the workshop team's mean emotion curve.
        review_legend: "Customer review:" - starts the legend of validated maps.
        postits / postit_one: "{n} post-its" / "{n} post-it" (lane titles, footer).
        more_stages: "+{n} more stages" - footer when a map has more than MAX_STAGES.
        footer: "journeybot" - bottom-right signature; "" hides it.
        date: "{month} {day}, {year}" (fields: day, month, year, iso);
            months: the 12 month names used for {month}.
        decimal: "." - decimal separator for scores ("," in French).
        quote: "“{text}”" - how emotion quotes are wrapped ("« {text} »" in French).

    Other images
        comparison_title: "What customers changed" (render_comparison).
        not_reviewed: "not reviewed" - validated post-its without a mark (render_comparison).
        side_by_side_title: "Same customer, different channels" (render_side_by_side); the
            customer type is shown under it.
        top_pain: "Top pain point" (render_side_by_side legend).
        overlay_title: "Emotional journey by group" (render_emotion_overlay).
        stage: "Stage {n}" - name for a stage position without a name.

    Alt text (alt_text)
        alt_fact: "{label}: {value}." - customer type and channel focus ("{label} : {value}."
            in French).
        alt_stages: "{n} stages: {names}."
        alt_postits: "{n} post-its ({details})." - details: "Steps 12, Touchpoints 9, ...".
        alt_lowest: "Lowest emotional moment: {stage} ({score}){quote}." - quote is
            " — “…”" or "".
        alt_customer_lowest: "Customers' lowest moment: {stage} ({score})."
        alt_top_pain: "Top pain point: {text} ({votes}, {stage})."
        alt_review: "Customer review: {details}." - details: "3 confirmed, 1 new, ...".

    Font
        font: "DejaVu Sans" - font family; a family that is not installed (or cannot draw
            basic Latin) silently falls back to DejaVu Sans.
    """

    lanes: Mapping[str, str] = field(default_factory=lambda: _EN_LANES)
    versions: Mapping[str, str] = field(default_factory=lambda: _EN_VERSIONS)
    marks: Mapping[str, str] = field(default_factory=lambda: _EN_MARKS)
    channels: Mapping[str, str] = field(default_factory=lambda: _EN_CHANNELS)
    mark_counts: Mapping[str, str] = field(default_factory=lambda: _EN_MARK_COUNTS)
    more: str = "+{n} more"
    votes: str = "{n} votes"
    vote_one: str = "{n} vote"
    empty: str = "No post-its yet"
    no_stages: str = "No stages yet"
    customer_type: str = "Customer type"
    channel_focus: str = "Channel focus"
    customers: str = "Customers"
    customer: str = "customer"
    confirmed_by: str = "{n}× “that's me”"
    team_curve: str = "Team (mean)"
    review_legend: str = "Customer review:"
    postits: str = "{n} post-its"
    postit_one: str = "{n} post-it"
    more_stages: str = "+{n} more stages"
    footer: str = "journeybot"
    date: str = "{month} {day}, {year}"
    months: tuple[str, ...] = _EN_MONTHS
    decimal: str = "."
    quote: str = "“{text}”"
    comparison_title: str = "What customers changed"
    not_reviewed: str = "not reviewed"
    side_by_side_title: str = "Same customer, different channels"
    top_pain: str = "Top pain point"
    overlay_title: str = "Emotional journey by group"
    stage: str = "Stage {n}"
    alt_fact: str = "{label}: {value}."
    alt_stages: str = "{n} stages: {names}."
    alt_postits: str = "{n} post-its ({details})."
    alt_lowest: str = "Lowest emotional moment: {stage} ({score}){quote}."
    alt_customer_lowest: str = "Customers' lowest moment: {stage} ({score})."
    alt_top_pain: str = "Top pain point: {text} ({votes}, {stage})."
    alt_review: str = "Customer review: {details}."
    font: str = DEFAULT_FONT

    @classmethod
    def english(cls) -> MapLabels:
        """The English labels (the defaults of every field)."""
        return cls()


_ENGLISH = MapLabels()


# --------------------------------------------------------------------------------------------
# Small helpers: safe access to possibly odd data
# --------------------------------------------------------------------------------------------


def _str(value: Any) -> str:
    if value is None:
        return ""
    try:
        return value if isinstance(value, str) else str(value)
    except Exception:  # a __str__ that raises
        return ""


def _int(value: Any) -> int:
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return 0
    if not math.isfinite(number):
        return 0
    return max(0, min(int(number), 10**9))


def _score(value: Any) -> float | None:
    if value is None or isinstance(value, str):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if math.isnan(number):
        return None
    return max(-2.0, min(2.0, number))


def _seq(value: Any) -> tuple:
    if value is None or isinstance(value, (str, bytes)):
        return ()
    try:
        return tuple(value)
    except TypeError:
        return ()


def _fmt(template: Any, fallback: str, **fields: Any) -> str:
    for candidate in (template, fallback):
        try:
            return str(candidate).format(**fields)
        except Exception:  # KeyError, IndexError, ValueError... from a bad template
            continue
    return ""


def _label(mapping: Any, key: str, fallback: Mapping[str, str]) -> str:
    try:
        value = mapping.get(key) if mapping is not None else None
    except Exception:
        value = None
    if value is None:
        value = fallback.get(key)
    if value is None:
        value = key.replace("_", " ")
    return _str(value)


def _lanes(labels: MapLabels, kind: str) -> str:
    return _label(labels.lanes, kind, _EN_LANES)


def _number(value: float, labels: MapLabels, *, ascii_minus: bool = False) -> str:
    text = f"{value:+.1f}"
    if text in ("+0.0", "-0.0"):
        text = "0.0"
    text = text.replace(".", _str(labels.decimal) or ".")
    return text if ascii_minus else text.replace("-", "−")


def _count(n: int, many: str, one: str, fallback_many: str, fallback_one: str) -> str:
    return _fmt(one, fallback_one, n=n) if n == 1 else _fmt(many, fallback_many, n=n)


def _votes(n: int, labels: MapLabels) -> str:
    return _count(n, labels.votes, labels.vote_one, _ENGLISH.votes, _ENGLISH.vote_one)


def _postits(n: int, labels: MapLabels) -> str:
    return _count(n, labels.postits, labels.postit_one, _ENGLISH.postits, _ENGLISH.postit_one)


def _date(value: Any, labels: MapLabels) -> str:
    if isinstance(value, date):
        months = _seq(labels.months)
        month = _str(months[value.month - 1]) if len(months) == 12 else _EN_MONTHS[value.month - 1]
        fields = {"day": value.day, "month": month, "year": value.year, "iso": value.isoformat()}
        return _fmt(labels.date, _ENGLISH.date, **fields)
    return _str(value)


def _mark_count(labels: MapLabels, mark: str, n: int) -> str:
    return _fmt(_label(labels.mark_counts, mark, _EN_MARK_COUNTS), "{n} " + mark, n=n)


def _channel(value: Any, labels: MapLabels) -> str:
    key = _str(value).strip()
    if not key:
        return ""
    label = _label(labels.channels, key, _EN_CHANNELS)
    return label[:1].upper() + label[1:] if label == key.replace("_", " ") else label


# --------------------------------------------------------------------------------------------
# Normalised view of the input (never trust the types)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Note:
    kind: str
    text: str
    channel: str
    score: float | None
    votes: int
    author: str
    customer: bool
    mark: str | None
    confirmations: int

    @property
    def rejected(self) -> bool:
        return self.mark == "rejected"


@dataclass(frozen=True)
class _Stage:
    name: str
    notes: tuple[_Note, ...]
    customer_score: float | None

    def of(self, kind: str) -> list[_Note]:
        return [n for n in self.notes if n.kind == kind]

    def mean_emotion(self) -> float | None:
        scores = [n.score for n in self.of("emotion") if n.score is not None and not n.rejected]
        return sum(scores) / len(scores) if scores else None

    def quote(self) -> str:
        texts = [n.text.strip() for n in self.of("emotion") if not n.rejected and n.text.strip()]
        return min(texts, key=len) if texts else ""


@dataclass(frozen=True)
class _Map:
    workshop: str
    group: str
    customer_type: str
    channel_focus: str
    version: str
    made_on: Any
    stages: tuple[_Stage, ...]
    hidden_stages: int

    @property
    def validated(self) -> bool:
        return self.version.strip().lower() == "validated"

    def count(self, kind: str | None = None) -> int:
        return sum(1 for s in self.stages for n in s.notes if kind is None or n.kind == kind)


def _view_note(note: Any) -> _Note | None:
    if note is None:
        return None
    kind = _str(getattr(note, "kind", "")).strip().lower()
    if kind not in KINDS:
        return None
    mark = _str(getattr(note, "mark", None)).strip().lower() or None
    return _Note(
        kind=kind,
        text=_str(getattr(note, "text", "")),
        channel=_str(getattr(note, "channel", None)),
        score=_score(getattr(note, "score", None)),
        votes=_int(getattr(note, "votes", 0)),
        author=_str(getattr(note, "author", None)),
        customer=_str(getattr(note, "origin", "")).strip().lower() == "customer",
        mark=mark if mark in MARKS else None,
        confirmations=_int(getattr(note, "confirmations", 0)),
    )


def _view(m: Any, labels: MapLabels) -> _Map:
    stages = []
    for index, stage in enumerate(_seq(getattr(m, "stages", None))):
        if stage is None:
            continue
        notes = tuple(n for n in map(_view_note, _seq(getattr(stage, "notes", None))) if n)
        name = _str(getattr(stage, "name", "")).strip()
        name = name or _fmt(labels.stage, _ENGLISH.stage, n=index + 1)
        stages.append(_Stage(name, notes, _score(getattr(stage, "customer_score", None))))
    return _Map(
        workshop=_str(getattr(m, "workshop", "")).strip(),
        group=_str(getattr(m, "group", "")).strip(),
        customer_type=_str(getattr(m, "customer_type", None)).strip(),
        channel_focus=_str(getattr(m, "channel_focus", None)).strip(),
        version=_str(getattr(m, "version", "")).strip(),
        made_on=getattr(m, "made_on", None),
        stages=tuple(stages[:MAX_STAGES]),
        hidden_stages=max(0, len(stages) - MAX_STAGES),
    )


def _ordered(notes: Iterable[_Note], kind: str) -> list[_Note]:
    """Cell order: rejected last; pain points and opportunities by votes, highest first."""
    if kind in ("pain", "opportunity"):
        return sorted(notes, key=lambda n: (n.rejected, -n.votes))
    return sorted(notes, key=lambda n: n.rejected)


# --------------------------------------------------------------------------------------------
# Fonts: resolve the family, strip what it cannot draw, measure and wrap text
# --------------------------------------------------------------------------------------------

_LOAD_NO_HINTING = (ft2font.LoadFlags.NO_HINTING if hasattr(ft2font, "LoadFlags")
                    else ft2font.LOAD_NO_HINTING)
# Fast text on Agg needs matplotlib >= 3.11's per-glyph FreeType calls (the ones its own Agg
# text drawing uses); with older versions text goes through `RendererBase.draw_text`.
_FAST_TEXT = all(hasattr(ft2font.FT2Font, name)
                 for name in ("_layout", "_render_glyph", "_set_transform")) \
    and hasattr(ft2font, "RenderMode") and hasattr(ft2font, "Kerning")
_RENDER_NORMAL = getattr(getattr(ft2font, "RenderMode", None), "NORMAL", None)
_KERNING_UNFITTED = getattr(getattr(ft2font, "Kerning", None), "UNFITTED", None)
_IDENTITY = np.array([[0x10000, 0], [0, 0x10000]])
_LIGATURES = ("ffl", "ffi", "ff", "fi", "fl")  # longest first
_PROBES = ("AVATAR To Tu Ty Vo Wa Ye LT L’ P. F, r. y, f) (j «Y» “A” 7/4 Fâ Té",
           "Jeunes actifs efficaces: offre, fidèle, réflexe, affluence. Kw Rv Xe")
_GLYPH_CACHE_SIZE = 10_000  # bitmaps per font file, ~1 KB each (a map uses ~1-2k)
# Glyph origins are snapped to 1/4 px (matplotlib: 1/64 px) so that bitmaps can be reused:
# every glyph lands within 1/8 px of where matplotlib would draw it - invisible.
_SUBPIXEL = 16
_STEPS = 64 // _SUBPIXEL
_MISSING = object()
# Latin and common punctuation/symbols without marks, format characters or right-to-left
# text: what `_Face.shape` may lay out itself; anything else goes to matplotlib's shaper.
_SIMPLE_TEXT = re.compile("[\u0020-\u007e\u00a0-\u00ac\u00ae-\u02ff\u1e00-\u1eff"
                          "\u2000-\u200a\u2010-\u2027\u202f-\u205f\u2070-\u20cf"
                          "\u2100-\u2bff\u2c60-\u2c7f\ua720-\ua7ff\ufb00-\ufb06]*")
_FACE_LOCK = threading.Lock()
_RENDER_LOCK = threading.RLock()
_DROP_CATEGORIES = {"Cc", "Cs", "Co", "Cn"}
# emoji glue: variation selectors, zero-width joiner, skin tones' companions (no colour emoji)
_DROP_CHARS = frozenset("\u200d\u20e3" + "".join(chr(c) for c in range(0xFE00, 0xFE10)))
_SPACES = "\t\r\v\f\u2028\u2029\u0085"
_MAX_TEXT = 1500  # characters considered per text: more can never be shown


class _Face:
    """One font file: measuring (cached advance widths, in ems), a small shaper for simple
    left-to-right text, and cached glyph bitmaps for drawing on Agg (see `_TextRun`)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._font = ft2font.FT2Font(path)
        self._cmap: dict[int, int] = self._font.get_charmap()
        self.charmap = frozenset(self._cmap)
        self._font.set_size(100, 72)  # 100 px per em: measurements are divided by 100
        self._advances: dict[str, float] = {}
        self._glyph_advances: dict[int, float] = {}
        self._kerning: dict[int, float] = {}
        self._ligatures: dict[str, int] = {}
        self._raster: Any = None  # a second FT2Font, sized per glyph while drawing
        self._bitmaps: dict[tuple, Any] = {}
        self.simple = False  # may `shape` stand in for matplotlib's shaper with this font?
        if _FAST_TEXT:
            self.simple = self._probe()  # not shared yet: no lock

    def advance(self, char: str) -> float:
        width = self._advances.get(char)
        if width is None:
            with _FACE_LOCK:
                try:
                    glyph = self._font.load_char(ord(char), flags=_LOAD_NO_HINTING)
                    width = glyph.linearHoriAdvance / 65536 / 100
                except Exception:
                    width = 0.6
            self._advances[char] = width
        return width

    def width(self, text: str, size: float) -> float:
        return sum(self.advance(c) for c in text) * size

    # -- shaping ---------------------------------------------------------------------------

    def _glyph_advance(self, glyph: int) -> float:
        width = self._glyph_advances.get(glyph)
        if width is None:
            with _FACE_LOCK:
                width = self._font.load_glyph(glyph, flags=_LOAD_NO_HINTING) \
                    .linearHoriAdvance / 65536 / 100
            self._glyph_advances[glyph] = width
        return width

    def _kern(self, left: int, right: int) -> float:
        key = left << 20 | right
        value = self._kerning.get(key)
        if value is None:
            with _FACE_LOCK:
                value = self._font.get_kerning(left, right, _KERNING_UNFITTED) / 64 / 100
            if len(self._kerning) >= 100_000:  # pairs seen; a language uses a few thousand
                self._kerning.clear()
            self._kerning[key] = value
        return value

    def shape(self, text: str) -> tuple[list[tuple[int, float, float]], float] | None:
        """Glyphs with their origins (in ems) in ``text``, and its advance width; None when the
        text needs matplotlib's full shaper (right-to-left, combining marks, other scripts).

        For Latin text this is what libraqm computes for fonts like DejaVu (character map,
        unhinted advances, pair kerning, f-ligatures) - `_probe` checks it per font - at a
        fraction of the cost: matplotlib 3.11 shapes every string twice, ~15 us a character.
        """
        if not self.simple or not _SIMPLE_TEXT.fullmatch(text):
            return None
        cmap, ligatures = self._cmap, self._ligatures
        glyphs: list[tuple[int, float, float]] = []
        pen, previous, i, n = 0.0, -1, 0, len(text)
        while i < n:
            glyph = -1
            if ligatures and text[i] == "f":
                for sequence in _LIGATURES:
                    if sequence in ligatures and text.startswith(sequence, i):
                        glyph = ligatures[sequence]
                        i += len(sequence)
                        break
            if glyph < 0:
                glyph = cmap.get(ord(text[i]), 0)
                i += 1
            if previous >= 0:
                pen += self._kern(previous, glyph)
            glyphs.append((glyph, pen, 0.0))
            pen += self._glyph_advance(glyph)
            previous = glyph
        return glyphs, pen

    def _probe(self) -> bool:
        """Learn the font's f-ligatures from matplotlib's shaper, then check that `shape`
        places a kerning-heavy sample exactly as that shaper does (else always use it)."""
        try:
            for sequence in _LIGATURES:
                items = self._font._layout(sequence, flags=_LOAD_NO_HINTING)
                if len(items) == 1 and items[0].glyph_index:
                    self._ligatures[sequence] = items[0].glyph_index
            self.simple = True
            for sample in _PROBES:
                sample = "".join(c for c in sample if ord(c) in self.charmap)
                items = self._font._layout(sample, flags=_LOAD_NO_HINTING)
                shaped = self.shape(sample)
                if shaped is None or len(shaped[0]) != len(items):
                    return False
                for k, (item, (glyph, pen, _)) in enumerate(zip(items, shaped[0], strict=True)):
                    # raqm rounds each advance to 1/64 px: allow that much drift
                    if item.glyph_index != glyph or abs(item.x - pen * 100) > 0.05 + k / 64:
                        return False
            return True
        except Exception:
            return False

    # -- drawing ---------------------------------------------------------------------------

    def bitmap(self, glyph: int, size: float, dpi: float, dx: int, dy: int) -> Any:
        """Coverage bitmap of ``glyph`` at ``size`` pt and ``dpi``, its origin shifted by
        (dx, dy) 64ths of a pixel, as ``(1 - coverage / 255, left, top, rows, columns)``
        (float32: ready for compositing), or None for blank glyphs.
        Rendered exactly as matplotlib's Agg backend renders glyphs (unhinted, antialiased)."""
        key = (glyph, size, dpi, dx, dy)
        try:
            return self._bitmaps[key]
        except KeyError:
            pass
        if len(self._bitmaps) >= _GLYPH_CACHE_SIZE:
            self._bitmaps.clear()  # bounded: memory stays flat whatever the texts
        font = self.raster()
        font.set_size(size, dpi)
        font._set_transform(_IDENTITY, [dx, dy])
        try:
            bitmap = font._render_glyph(glyph, _LOAD_NO_HINTING, _RENDER_NORMAL)
        finally:
            font._set_transform(_IDENTITY, [0, 0])
        buffer = np.asarray(bitmap.buffer)
        value = None
        if buffer.size and buffer.any():
            value = (1 - buffer.astype(np.float32) / np.float32(255), bitmap.left, bitmap.top,
                     *buffer.shape)
        self._bitmaps[key] = value
        return value

    def raster(self) -> Any:
        if self._raster is None:
            self._raster = ft2font.FT2Font(self.path)
        return self._raster


@functools.lru_cache(maxsize=32)
def _face(path: str) -> _Face:
    return _Face(path)


@functools.lru_cache(maxsize=32)
def _prop(family: str, weight: str, style: str) -> FontProperties:
    return FontProperties(family=family, weight=weight, style=style)


@functools.lru_cache(maxsize=32)
def _face_for(family: str, weight: str, style: str) -> _Face:
    return _face(findfont(_prop(family, weight, style), fallback_to_default=True))


@functools.lru_cache(maxsize=16)
def _resolve_family(requested: str) -> str:
    """The requested family if installed and able to draw basic Latin, else DejaVu Sans."""
    if requested == DEFAULT_FONT:
        return DEFAULT_FONT
    try:
        if requested not in {f.name for f in fontManager.ttflist}:
            return DEFAULT_FONT
        face = _face(findfont(_prop(requested, "normal", "normal"), fallback_to_default=False))
    except Exception:
        return DEFAULT_FONT
    if not all(ord(c) in face.charmap for c in "AZaz09éèàçÉ"):
        return DEFAULT_FONT
    return requested


class _Fonts:
    """Text services for one family: cleaning, measuring, wrapping (sizes in points)."""

    def __init__(self, requested: Any) -> None:
        self.family = _resolve_family(_str(requested).strip() or DEFAULT_FONT)

    def face(self, weight: str = "normal", style: str = "normal") -> _Face:
        return _face_for(self.family, weight, style)

    def prop(self, weight: str, style: str) -> FontProperties:
        return _prop(self.family, weight, style)

    def style_for(self, text: str, weight: str, style: str) -> str:
        """Italic faces may lack scripts (DejaVu Oblique has no Arabic): then draw upright."""
        if style == "normal":
            return style
        charmap = self.face(weight, style).charmap
        upright = self.face(weight, "normal").charmap
        if any(ord(c) not in charmap and ord(c) in upright for c in text[:_MAX_TEXT]):
            return "normal"
        return style

    def clean(self, text: Any, weight: str = "normal", style: str = "normal") -> str:
        """NFC-normalise, drop control characters and glyphs the face lacks, squash spaces."""
        raw = unicodedata.normalize("NFC", _str(text)[:_MAX_TEXT])
        charmap = self.face(weight, style).charmap
        out: list[str] = []
        for char in raw:
            if char == "\n":
                out.append("\n")
            elif char in _SPACES:
                out.append(" ")
            elif char in _DROP_CHARS or unicodedata.category(char) in _DROP_CATEGORIES:
                continue
            elif ord(char) in charmap:
                out.append(char)
            elif unicodedata.category(char) == "Zs":
                out.append(" ")
        lines = (" ".join(line.split(" ")).strip() for line in "".join(out).split("\n"))
        return "\n".join(" ".join(line.split()) for line in lines if line.strip())

    def width(self, text: str, size: float, weight: str = "normal",
              style: str = "normal") -> float:
        return self.face(weight, style).width(text, size)

    def wrap(self, text: Any, width: float, size: float, *, weight: str = "normal",
             style: str = "normal", max_lines: int | None = None) -> list[str]:
        """Greedy word wrap to ``width`` points; over-long words break anywhere."""
        text = self.clean(text, weight, style)
        face = self.face(weight, style)
        width = max(width, size)
        space = face.advance(" ") * size
        limit = max_lines if max_lines else 10**6
        lines: list[str] = []
        for paragraph in text.split("\n"):
            current, current_w = "", 0.0
            for word in paragraph.split(" "):
                if len(lines) > limit:
                    break
                word_w = face.width(word, size)
                if current and current_w + space + word_w <= width:
                    current, current_w = current + " " + word, current_w + space + word_w
                    continue
                if current:
                    lines.append(current)
                while word_w > width and len(lines) <= limit:
                    cut, used = 0, 0.0
                    for char in word:
                        step = face.advance(char) * size
                        if cut and used + step > width:
                            break
                        cut, used = cut + 1, used + step
                    lines.append(word[:cut])
                    word = word[cut:]
                    word_w = face.width(word, size)
                current, current_w = word, word_w
            if current:
                lines.append(current)
            if len(lines) > limit:
                break
        if len(lines) > limit:
            lines = lines[:limit]
            lines[-1] = self.fit(lines[-1] + "…", width, size, weight=weight, style=style,
                                 force_ellipsis=True)
        return lines

    def fit(self, text: Any, width: float, size: float, *, weight: str = "normal",
            style: str = "normal", force_ellipsis: bool = False) -> str:
        """One line: ``text`` cleaned, shortened with "…" until it fits ``width``."""
        text = " ".join(self.clean(text, weight, style).split("\n"))
        face = self.face(weight, style)
        if not force_ellipsis and face.width(text, size) <= width:
            return text
        text = text.rstrip("…")
        budget = width - face.width("…", size)
        used, cut = 0.0, 0
        for char in text:
            used += face.advance(char) * size
            if used > budget:
                break
            cut += 1
        return text[:cut].rstrip() + "…"


# --------------------------------------------------------------------------------------------
# Drawing surface: record shapes in points (y grows downwards), then replay on a Figure
# --------------------------------------------------------------------------------------------

INK = "#1B2430"
MUTED = "#4F5968"
FAINT = "#8A93A0"
RULE = "#D5DAE1"
BAND = "#F4F6F8"
NAVY = "#22395B"
WHITE = "#FFFFFF"

OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
             "#F0E442")


def _mix(color: str, amount: float, toward: str = WHITE) -> str:
    """``amount`` of ``color`` blended into ``toward`` (1.0 = color)."""
    a = [int(color[i:i + 2], 16) for i in (1, 3, 5)]
    b = [int(toward[i:i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x * amount + y * (1 - amount)):02X}" for x, y in zip(a, b, strict=True))


@dataclass(frozen=True)
class _LaneStyle:
    accent: str   # bar, marker, edges
    fill: str     # post-it background
    ink: str      # accent text (votes) with enough contrast on white
    marker: str   # matplotlib marker drawn next to the lane title


def _lane_style(accent: str, marker: str, fill_amount: float = 0.16) -> _LaneStyle:
    return _LaneStyle(accent, _mix(accent, fill_amount), _mix(accent, 0.72, "#000000"), marker)


LANE_STYLES = {
    "step": _lane_style("#0072B2", ">"),
    "touchpoint": _lane_style("#56B4E9", "o", 0.22),
    "action": _lane_style("#CC79A7", "s"),
    "emotion": _lane_style("#E69F00", "h"),
    "pain": _lane_style("#D55E00", "v"),
    "opportunity": _lane_style("#009E73", "^"),
    "kpi": _LaneStyle("#C9B400", "#FBF6C9", "#6B6000", "D"),
}


@dataclass(frozen=True)
class _MarkStyle:
    symbol: str
    color: str
    fill: str
    linestyle: Any
    linewidth: float


MARK_STYLES = {
    "confirmed": _MarkStyle("✓", "#007A59", "#DDF1EA", "solid", 1.8),
    "corrected": _MarkStyle("✎", "#B07800", "#FBEFD2", (0, (4, 2)), 1.7),
    "new": _MarkStyle("★", "#0072B2", "#DCEBF6", (0, (6, 2, 1.5, 2)), 1.8),
    "rejected": _MarkStyle("✗", "#7A7A7A", "#EDEDED", (0, (1, 2)), 1.4),
}
TEAM_COLOR, CUSTOMER_COLOR = "#0072B2", "#D55E00"


class _Sheet:
    """A recorded drawing in points with y pointing down; ``render`` replays it once."""

    def __init__(self, fonts: _Fonts) -> None:
        self.fonts = fonts
        self._ops: list[tuple[str, tuple, dict]] = []

    def text(self, x: float, y: float, text: str, *, size: float, color: str = INK,
             weight: str = "normal", style: str = "normal", ha: str = "left",
             va: str = "baseline", z: float = 6, strike: bool = False,
             halo: bool = False) -> None:
        """Draw one already cleaned/wrapped line at baseline ``y`` (see `_Fonts.clean`)."""
        if not text:
            return
        self._ops.append(("text", (x, y, text), dict(size=size, color=color, weight=weight,
                                                     style=style, ha=ha, va=va, z=z,
                                                     halo=halo)))
        if strike:
            w = self.fonts.width(text, size, weight, style)
            x0 = {"left": x, "center": x - w / 2, "right": x - w}.get(ha, x)
            self.line([x0, x0 + w], [y - size * 0.3] * 2, color=color, lw=0.9, z=z + 0.1)

    def rect(self, x: float, y: float, w: float, h: float, *, fc: str = "none",
             ec: str = "none", lw: float = 0.0, ls: Any = "solid", r: float = 0.0,
             z: float = 2, alpha: float = 1.0) -> None:
        self._ops.append(("rect", (x, y, w, h), dict(fc=fc, ec=ec, lw=lw, ls=ls, r=r, z=z,
                                                     alpha=alpha)))

    def poly(self, points: Sequence[tuple[float, float]], *, fc: str, ec: str = "none",
             lw: float = 0.0, z: float = 2) -> None:
        self._ops.append(("poly", (tuple(points),), dict(fc=fc, ec=ec, lw=lw, z=z)))

    def line(self, xs: Sequence[float], ys: Sequence[float], *, color: str, lw: float = 1.0,
             ls: Any = "solid", z: float = 3, marker: str = "", ms: float = 0.0,
             mfc: str | None = None, mec: str | None = None, mew: float = 1.0) -> None:
        self._ops.append(("line", (tuple(xs), tuple(ys)), dict(
            color=color, lw=lw, ls=ls, z=z, marker=marker, ms=ms, mfc=mfc or color,
            mec=mec or color, mew=mew)))

    def marker(self, x: float, y: float, marker: str, *, size: float, color: str,
               edge: str | None = None, z: float = 7) -> None:
        self.line([x], [y], color=color, lw=0, marker=marker, ms=size, mec=edge or color,
                  z=z)

    def pill(self, x: float, y: float, text: str, *, size: float, color: str, fill: str,
             edge: str | None = None, weight: str = "normal", align: str = "left") -> float:
        """A rounded label whose top-left (or top-right) corner is (x, y); returns its width."""
        if not text:
            return 0.0
        w = self.fonts.width(text, size, weight) + size * 1.1
        h = size * 1.55
        left = x - w if align == "right" else x
        self.rect(left, y, w, h, fc=fill, ec=edge or fill, lw=0.7, r=h / 2, z=5)
        self.text(left + w / 2, y + h / 2 + size * 0.36, text, size=size, color=color,
                  weight=weight, ha="center")
        return w

    def render(self, width: float, height: float, fmt: str, dpi: float) -> bytes:
        """Replay the drawing on a fresh Figure and return the file's bytes.

        PNG/SVG pages are ``width`` x ``height`` points. PDF pages are A3 (landscape, or
        portrait when that prints the map larger) with the drawing scaled to fit, centred.
        """
        page_w, page_h, scale = width, height, 1.0
        if fmt == "pdf":
            landscape = min(A3[0] / width, A3[1] / height)
            portrait = min(A3[1] / width, A3[0] / height)
            page_w, page_h = A3 if landscape >= portrait else (A3[1], A3[0])
            scale = max(landscape, portrait)
        with rc_context(_RC):
            return self._render(width, height, page_w, page_h, scale, fmt, dpi)

    def _render(self, width: float, height: float, page_w: float, page_h: float,
                scale: float, fmt: str, dpi: float) -> bytes:
        fig = Figure(figsize=(page_w / 72, page_h / 72), dpi=72, facecolor=WHITE)
        canvas = FigureCanvasAgg(fig)
        try:
            # drawing units (points, y down, centred on the page) -> inches -> device
            span_w, span_h = page_w / scale, page_h / scale
            dx, dy = (span_w - width) / 2, (span_h - height) / 2
            transform = Affine2D().translate(dx, dy).scale(scale / 72, -scale / 72) \
                .translate(0, page_h / 72) + fig.dpi_scale_trans
            # No Axes (their ticks and spines cost ~20 ms to build and clear): the artists
            # sit on the figure, drawn in the recorded order (stable sort on z).
            for order, artist in enumerate(self._artists(transform, scale)):
                artist.set_zorder(order)
                fig.add_artist(artist)
            if fmt == "png":
                fig.set_dpi(dpi)
                canvas.draw()
                return _png(canvas.buffer_rgba(), dpi)
            buffer = io.BytesIO()
            fig.savefig(buffer, format=fmt, dpi=dpi, facecolor=WHITE,
                        metadata=_METADATA[fmt])
            return buffer.getvalue()
        finally:
            # Figure and canvas reference each other: only the cyclic GC would free them,
            # with the renderer's 20-30 MB of pixels, renders later. Drop those now.
            fig.clear()
            canvas.renderer = None
            canvas._lastKey = None
            del canvas

    def _artists(self, transform: Any, scale: float) -> Iterable[Any]:
        """Artists replaying the ops: consecutive shapes (rectangles, rounded rectangles,
        polygons) become one collection and consecutive texts one `_TextRun`, so a map is
        ~30 artists instead of ~500, in the same drawing order."""
        ops = sorted(self._ops, key=lambda op: op[2]["z"])
        run: list[tuple[str, tuple, dict]] = []
        for i, (kind, args, kw) in enumerate(ops):
            if kind == "line":
                yield self._line(args, kw, transform, scale)
                continue
            run.append((kind, args, kw))
            group = "text" if kind == "text" else "shape"
            after = ops[i + 1] if i + 1 < len(ops) else None
            if after is None or after[0] == "line" or (
                    "text" if after[0] == "text" else "shape") != group:
                if group == "text":
                    yield _TextRun([(x, y, text, kw) for _, (x, y, text), kw in run],
                                   self.fonts, transform, scale)
                else:
                    yield _shapes(run, transform, scale)
                run = []

    def _line(self, args: tuple, kw: dict, transform: Any, scale: float) -> Line2D:
        xs, ys = args
        return Line2D(
            xs, ys, color=kw["color"], linewidth=kw["lw"] * scale, linestyle=kw["ls"],
            marker=kw["marker"] or "None", markersize=kw["ms"] * scale,
            markerfacecolor=kw["mfc"], markeredgecolor=kw["mec"],
            markeredgewidth=kw["mew"] * scale, solid_capstyle="round", dash_capstyle="butt",
            clip_on=False, transform=transform)


def _shapes(ops: Sequence[tuple[str, tuple, dict]], transform: Any,
            scale: float) -> Artist:
    """One collection for consecutive rect/poly ops (same look as one patch each: rounded
    corners from `BoxStyle.Round`, mitred joins, dashes scaled with the line width)."""
    paths, faces, edges, widths, styles = [], [], [], [], []
    for kind, args, kw in ops:
        if kind == "poly":
            points = np.asarray(args[0], dtype=float).reshape(-1, 2)
            paths.append(Path(np.concatenate([points, points[:1]]), closed=True))
            alpha = 1.0
        else:
            x, y, w, h = args
            alpha = kw["alpha"]
            if kw["r"] > 0:
                r = float(f"{min(kw['r'], w / 2, h / 2):.3f}")
                paths.append(_round_box(r)(x, y, w, h, 1.0))
            else:
                paths.append(Path([(x, y), (x + w, y), (x + w, y + h), (x, y + h), (x, y)],
                                  _RECT_CODES))
        faces.append(_rgba(kw["fc"], alpha))
        edges.append(_rgba(kw["ec"], alpha))
        widths.append(kw["lw"] * scale)
        styles.append(kw.get("ls", "solid"))
    if len(paths) == 1:  # a lone path: as a patch (a collection of one is drawn as a
        # marker stamp, whose pixel snapping differs)
        return PathPatch(paths[0], facecolor=faces[0], edgecolor=edges[0],
                         linewidth=widths[0], linestyle=styles[0], transform=transform)
    return PathCollection(paths, facecolors=faces, edgecolors=edges, linewidths=widths,
                          linestyles=styles, antialiaseds=True, joinstyle="miter",
                          capstyle="butt", transform=transform)


_RECT_CODES = [Path.MOVETO, Path.LINETO, Path.LINETO, Path.LINETO, Path.CLOSEPOLY]


@functools.lru_cache(maxsize=64)
def _round_box(radius: float) -> Any:
    return BoxStyle.Round(pad=0, rounding_size=radius)


@functools.lru_cache(maxsize=256)
def _rgba(color: str, alpha: float = 1.0) -> tuple[float, float, float, float]:
    r, g, b, a = to_rgba(color)
    return (r, g, b, a * alpha)


@functools.lru_cache(maxsize=256)
def _sized_prop(family: str, weight: str, style: str, size: float) -> FontProperties:
    return FontProperties(family=family, weight=weight, style=style, size=size)


class _TextRun(Artist):
    """Consecutive one-line texts ``(x, y, text, kw)`` (baseline at y, ``kw["ha"]``
    alignment), drawn as `Text` would draw them but without one artist and two text
    layouts per line.

    On Agg (PNG) each glyph is a cached FreeType bitmap composited with the same call as
    matplotlib's own text drawing; Latin text is laid out by `_Face.shape`. Other renderers
    (PDF, SVG: real, selectable text) get ``renderer.draw_text`` per line.
    """

    def __init__(self, items: list[tuple[float, float, str, dict]], fonts: _Fonts,
                 transform: Any, scale: float) -> None:
        super().__init__()
        self._items = items
        self._fonts = fonts
        self._scale = scale
        self.set_transform(transform)

    def draw(self, renderer: Any) -> None:
        if not self.get_visible() or not self._items:
            return
        points = self.get_transform().transform([(x, y) for x, y, _, _ in self._items])
        gc = renderer.new_gc()
        try:
            done = 0
            if _FAST_TEXT and isinstance(renderer, RendererAgg):
                done = self._draw_agg(renderer, gc, points)
            self._draw_text(renderer, gc, points, done)
        finally:
            gc.restore()
        self.stale = False

    def _draw_text(self, renderer: Any, gc: Any, points: Any, start: int = 0) -> None:
        """Items ``start:`` through the renderer's own ``draw_text``, as `Text` does."""
        height = renderer.get_canvas_width_height()[1]
        for (x, y), (_, _, text, kw) in zip(points[start:], self._items[start:],
                                            strict=True):
            prop = _sized_prop(self._fonts.family, kw["weight"], kw["style"],
                               kw["size"] * self._scale)
            if kw["ha"] in ("center", "right"):
                w = renderer.get_text_width_height_descent(text, prop, ismath=False)[0]
                x -= w if kw["ha"] == "right" else w / 2
            gc.set_foreground(_rgba(kw["color"]), isRGBA=True)
            target = PathEffectRenderer(_halo(self._scale), renderer) if kw["halo"] \
                else renderer
            target.draw_text(gc, x, height - y if renderer.flipy() else y, text, prop, 0.0,
                             ismath=False, mtext=None)

    def _draw_agg(self, renderer: Any, gc: Any, points: Any) -> int:
        """Draw the items with cached glyphs; returns how many were drawn: all of them,
        unless matplotlib's private glyph calls misbehave (a newer version?) - then the
        fast path is switched off for good and `_draw_text` draws the rest."""
        global _FAST_TEXT
        for index, ((x, y), (_, _, text, kw)) in enumerate(zip(points, self._items,
                                                                strict=True)):
            try:
                self._draw_glyphs(renderer, gc, x, y, text, kw)
            except Exception:
                logger.warning("fast text drawing failed; using matplotlib's draw_text",
                               exc_info=True)
                _FAST_TEXT = False
                return index
        return len(self._items)

    def _draw_glyphs(self, renderer: Any, gc: Any, x: float, y: float, text: str,
                     kw: dict) -> None:
        dpi, bottom = renderer.dpi, int(renderer.height)
        blit = renderer._renderer.draw_text_image
        fonts, scale = self._fonts, self._scale
        size = kw["size"] * scale
        face = fonts.face(kw["weight"], kw["style"])
        em = size * dpi / 72  # pixels per em
        shaped = face.shape(text)
        if shaped is not None:
            glyphs, unit, width = shaped[0], em, shaped[1] * em
        else:  # right-to-left, marks, other scripts: matplotlib's shaper (libraqm)
            font = face.raster()
            font.set_size(size, dpi)
            glyphs = [(item.glyph_index, item.x, item.y) for item in
                      font._layout(text, flags=_LOAD_NO_HINTING)]
            unit, width = 1.0, 0.0
            if kw["ha"] != "left":
                prop = _sized_prop(fonts.family, kw["weight"], kw["style"], size)
                width = renderer.get_text_width_height_descent(text, prop, False)[0]
        if kw["ha"] == "right":
            x -= width
        elif kw["ha"] == "center":
            x -= width / 2
        mask = _text_mask(face, glyphs, unit, x, y, size, dpi)
        if mask is None:
            return
        coverage, left, top = mask
        if kw["halo"]:  # white outline, 1.75 pt wide, as patheffects.withStroke(3.5)
            radius = 1.75 * scale * dpi / 72
            outline = _dilate(coverage, radius)
            pad = (outline.shape[1] - coverage.shape[1]) // 2
            gc.set_foreground(_rgba(WHITE), isRGBA=True)
            blit(outline, left - pad, bottom - top - pad + outline.shape[0], 0, gc)
        gc.set_foreground(_rgba(kw["color"]), isRGBA=True)
        blit(coverage, left, bottom - top + coverage.shape[0], 0, gc)


def _text_mask(face: _Face, glyphs: Sequence[tuple[int, float, float]], unit: float,
               x: float, y: float, size: float, dpi: float) -> tuple[Any, int, int] | None:
    """One line's coverage: its glyph bitmaps composited ("over", as when each glyph is
    drawn in turn) into one array, with its left column and top row (FreeType's y, up).
    Glyph ``i`` has its origin at ``(x + dx_i * unit, y + dy_i * unit)`` pixels."""
    cache, steps, sub = face._bitmaps, _STEPS, _SUBPIXEL
    placed = []
    left = low = 1 << 30
    right = top = -left
    x, y, unit = x * steps + 0.5, y * steps + 0.5, unit * steps
    for glyph, dx, dy in glyphs:
        # origin in 1/_STEPS px; FreeType's y points up, like display y
        qx, qy = int(x + dx * unit), int(y + dy * unit)
        key = (glyph, size, dpi, qx % steps * sub, qy % steps * sub)
        bitmap = cache.get(key, _MISSING)
        if bitmap is _MISSING:
            bitmap = face.bitmap(*key)
        if bitmap is None:
            continue
        gl, gt = bitmap[1] + qx // steps, bitmap[2] + qy // steps
        placed.append((bitmap, gl, gt))
        if gl < left:
            left = gl
        if gl + bitmap[4] > right:
            right = gl + bitmap[4]
        if gt > top:
            top = gt
        if gt - bitmap[3] < low:
            low = gt - bitmap[3]
    if not placed:
        return None
    if len(placed) == 1:
        clear = placed[0][0][0]
    else:
        clear = np.ones((top - low, right - left), dtype=np.float32)  # 1 - coverage
        for (transparency, _, _, rows, cols), gl, gt in placed:
            clear[top - gt:top - gt + rows, gl - left:gl - left + cols] *= transparency
    return (255.5 - clear * 255).astype(np.uint8), left, top


def _dilate(coverage: Any, radius: float) -> Any:
    """``coverage`` grown by a disc of ``radius`` px (antialiased rim), padded to fit."""
    pad = math.ceil(radius + 0.5)
    rows, cols = coverage.shape
    out = np.zeros((rows + 2 * pad, cols + 2 * pad), dtype=np.uint8)
    for dy in range(-pad, pad + 1):
        for dx in range(-pad, pad + 1):
            weight = min(1.0, radius + 0.5 - math.hypot(dx, dy))
            if weight <= 0:
                continue
            region = out[pad + dy:pad + dy + rows, pad + dx:pad + dx + cols]
            shifted = coverage if weight >= 1 else (coverage * weight).astype(np.uint8)
            np.maximum(region, shifted, out=region)
    return out


A3 = (1190.55, 841.89)  # points, landscape

# Unhinted glyphs advance exactly as `_Face` measures them, at any dpi (hinting snaps them
# to pixels: up to 20% wider at 20 dpi). rc_context is global, hence the render lock.
_RC = {"text.hinting": "no_hinting", "svg.hashsalt": "journeybot", "pdf.fonttype": 42}


@functools.lru_cache(maxsize=8)
def _halo(scale: float) -> list:
    return [patheffects.withStroke(linewidth=3.5 * scale, foreground=WHITE)]


_METADATA = {
    "pdf": {"Creator": None, "Producer": None, "CreationDate": None},
    "svg": {"Creator": None, "Date": None},
}
_PNG_LEVEL = 1


def _png(rgba: Any, dpi: float) -> bytes:
    """Opaque RGB PNG of an Agg RGBA buffer, written directly (no filter, zlib level 1).

    Pillow's encoder spends ~3x longer on the same pixels (it tries every PNG row filter);
    for flat diagrams "no filter" + fast deflate is about as small (level 6 saves ~10% for
    ~2.5x the time). Deterministic, with the dpi in a pHYs chunk.
    """
    pixels = np.asarray(rgba)
    h, w = pixels.shape[:2]
    source = pixels.reshape(h, 4 * w)
    raw = np.empty((h, 1 + 3 * w), dtype=np.uint8)
    raw[:, 0] = 0  # filter type of each row: none
    rows = raw[:, 1:]
    for channel in range(3):  # RGBA -> RGB, one strided copy per channel (the fastest way)
        rows[:, channel::3] = source[:, channel::4]
    ppm = int(dpi / 0.0254 + 0.5)
    return b"".join((
        b"\x89PNG\r\n\x1a\n",
        _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)),
        _chunk(b"pHYs", struct.pack(">IIB", ppm, ppm, 1)),
        _chunk(b"IDAT", _deflate(raw)),
        _chunk(b"IEND", b""),
    ))


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


_DEFLATE_POOL: ThreadPoolExecutor | None = None
_CPUS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _deflate(raw: Any) -> bytes:
    """zlib stream of ``raw``. On several cores its two halves are deflated at once (zlib
    releases the GIL) and joined as pigz does: the first ends on a byte boundary (sync
    flush), the Adler-32 checksums are combined. Deterministic: fixed split."""
    data = memoryview(raw).cast("B")
    if _CPUS < 2 or len(data) < 1 << 20:
        return zlib.compress(data, _PNG_LEVEL)
    global _DEFLATE_POOL
    if _DEFLATE_POOL is None:
        _DEFLATE_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="png-deflate")
    half = len(data) // 2
    tail = _DEFLATE_POOL.submit(_deflate_part, data[half:], True)
    head_bytes, head_sum = _deflate_part(data[:half], False)
    tail_bytes, tail_sum = tail.result()
    checksum = _adler32_combine(head_sum, tail_sum, len(data) - half)
    return b"\x78\x01" + head_bytes + tail_bytes + struct.pack(">I", checksum)


def _deflate_part(data: memoryview, last: bool) -> tuple[bytes, int]:
    compressor = zlib.compressobj(_PNG_LEVEL, zlib.DEFLATED, -15)  # raw deflate
    body = compressor.compress(data) + compressor.flush(zlib.Z_FINISH if last
                                                        else zlib.Z_SYNC_FLUSH)
    return body, zlib.adler32(data)


def _adler32_combine(first: int, second: int, second_length: int) -> int:
    """Adler-32 of A + B from those of A and B (zlib's adler32_combine)."""
    base = 65521
    low = ((first & 0xFFFF) + (second & 0xFFFF) - 1) % base
    high = ((first >> 16) + (second >> 16) + second_length * (first & 0xFFFF)
            - second_length) % base
    return high << 16 | low


def _baseline(top: float, index: int, size: float, pitch: float) -> float:
    """Baseline of line ``index`` of a block starting at ``top`` with line pitch ``pitch``."""
    return top + index * pitch + (pitch - size) / 2 + 0.8 * size


def _check_fmt(fmt: Any) -> str:
    value = _str(fmt).strip().lower().lstrip(".")
    if value not in FORMATS:
        raise ValueError(f"unsupported image format {fmt!r}: use one of {', '.join(FORMATS)}")
    return value


def _dpi(dpi: Any) -> float:
    try:
        value = float(dpi)
    except (TypeError, ValueError):
        return DEFAULT_DPI
    return DEFAULT_DPI if not math.isfinite(value) else max(10.0, min(value, 600.0))


def _guarded(what: str, build: Callable[[], tuple[_Sheet, float, float]], fmt: Any,
             dpi: Any, font: Any) -> bytes:
    """Lay out and render; on an unexpected error log it and return a placeholder image."""
    fmt, dpi = _check_fmt(fmt), _dpi(dpi)
    with _RENDER_LOCK:
        try:
            sheet, width, height = build()
            return sheet.render(width, height, fmt, dpi)
        except Exception:
            logger.exception("could not draw %s; returning a placeholder image", what)
        fonts = _Fonts(font)
        sheet = _Sheet(fonts)
        sheet.rect(8, 8, 464, 144, fc=BAND, ec=RULE, lw=1, r=8)
        sheet.text(240, 90, "?", size=32, color=FAINT, weight="bold", ha="center")
        return sheet.render(480, 160, fmt, dpi)


# --------------------------------------------------------------------------------------------
# Post-its
# --------------------------------------------------------------------------------------------

BODY, PITCH = 10.0, 12.8         # post-it text size and line pitch
META, META_PITCH = 7.8, 11.8    # tags, votes, authors
NOTE_PAD_X, NOTE_PAD_Y, NOTE_BAR = 8.0, 5.5, 3.0
NOTE_GAP = 6.0


@dataclass
class _PostIt:
    """A laid-out post-it: its height and how to draw it at (x, y)."""

    note: _Note
    width: float
    lines: list[str]
    style: str
    tags: list[tuple[str, str]]      # (kind of tag, cleaned text) drawn at the top
    footer_left: str
    footer_right: str
    height: float

    def draw(self, sheet: _Sheet, x: float, y: float, labels: MapLabels) -> None:
        note, lane = self.note, LANE_STYLES[self.note.kind]
        mark = MARK_STYLES.get(note.mark or "")
        rejected = note.rejected
        fill = "#F0F0F0" if rejected else (WHITE if note.customer else lane.fill)
        edge = mark.color if mark else (lane.accent if note.customer else _mix(lane.accent, 0.5))
        lw = mark.linewidth if mark else (1.5 if note.customer else 0.6)
        ls = mark.linestyle if mark else "solid"
        # soft shadow, card, accent bar
        sheet.rect(x + 1.2, y + 1.6, self.width, self.height, fc="#000000", r=3, z=3,
                   alpha=0.07)
        sheet.rect(x, y, self.width, self.height, fc=fill, ec=edge, lw=lw, ls=ls, r=3, z=4)
        bar = FAINT if rejected else lane.accent
        sheet.rect(x + 0.6, y + 2.2, NOTE_BAR, self.height - 4.4, fc=bar, z=4.5)
        ink = FAINT if rejected else INK
        left, right = x + NOTE_PAD_X, x + self.width - 6
        top = y + NOTE_PAD_Y
        if self.tags:
            tag_x = left
            for tag, text in self.tags:
                if tag == "mark" and mark:
                    sheet.pill(right, top, text, size=META, color=mark.color, fill=mark.fill,
                               edge=mark.color, weight="bold", align="right")
                elif tag == "customer":
                    tag_x += sheet.pill(tag_x, top, text, size=META, color=WHITE,
                                        fill=CUSTOMER_COLOR if not rejected else FAINT,
                                        weight="bold") + 3
                else:
                    tag_x += sheet.pill(tag_x, top, text, size=META, color=INK,
                                        fill=WHITE, edge=_mix(lane.accent, 0.8)) + 3
            top += META * 1.55 + 3.5
        for i, line in enumerate(self.lines):
            sheet.text(left, _baseline(top, i, BODY, PITCH), line, size=BODY, color=ink,
                       style=self.style, strike=rejected)
        top += len(self.lines) * PITCH
        if self.footer_left or self.footer_right:
            base = _baseline(top + 1, 0, META, META_PITCH)
            sheet.text(left, base, self.footer_left, size=META, weight="bold",
                       color=FAINT if rejected else lane.ink)
            sheet.text(right, base, self.footer_right, size=META, style="italic",
                       color=FAINT, ha="right")


def _layout_postit(fonts: _Fonts, labels: MapLabels, note: _Note, width: float, *,
                   max_lines: int = MAX_NOTE_LINES) -> _PostIt:
    inner = width - NOTE_PAD_X - 6
    style = "normal"
    lines = fonts.wrap(note.text, inner, BODY, max_lines=max_lines) or ["…"]
    tags: list[tuple[str, str]] = []
    budget = inner
    if note.mark:
        mark = MARK_STYLES[note.mark]
        text = fonts.fit(f"{mark.symbol} {_label(labels.marks, note.mark, _EN_MARKS)}",
                         inner * 0.55, META, weight="bold")
        tags.append(("mark", text))
        budget -= fonts.width(text, META, "bold") + META * 1.1 + 6
    if note.customer:
        text = fonts.fit(_str(labels.customer), max(budget - META * 1.1, 20), META,
                         weight="bold")
        tags.append(("customer", text))
        budget -= fonts.width(text, META, "bold") + META * 1.1 + 3
    if note.kind == "touchpoint" and note.channel.strip():
        text = fonts.fit(_channel(note.channel, labels), max(budget - META * 1.1, 24), META)
        if text:
            tags.append(("channel", text))
    left = ""
    if note.votes:
        left = fonts.fit(_votes(note.votes, labels), inner * 0.55, META, weight="bold")
    if note.confirmations:
        extra = _fmt(labels.confirmed_by, _ENGLISH.confirmed_by, n=note.confirmations)
        left = fonts.fit(f"{left} · {extra}" if left else extra, inner * 0.7, META,
                         weight="bold")
    used = fonts.width(left, META, "bold") + 6 if left else 0
    right = fonts.fit(note.author, inner - used, META, style="italic") if note.author else ""
    if right in ("", "…"):
        right = ""
    height = NOTE_PAD_Y * 2 + len(lines) * PITCH
    if tags:
        height += META * 1.55 + 3.5
    if left or right:
        height += META_PITCH + 1
    return _PostIt(note, width, lines, style, tags, left, right, height)


def _layout_cell(fonts: _Fonts, labels: MapLabels, notes: Sequence[_Note], width: float,
                 cap: int) -> tuple[list[_PostIt], str, float]:
    """Post-its of one cell (at most ``cap``), the "+N more" text, and the cell height."""
    shown = list(notes[:max(cap, 1)])
    more = len(notes) - len(shown)
    postits = [_layout_postit(fonts, labels, n, width) for n in shown]
    height = sum(p.height for p in postits) + NOTE_GAP * max(0, len(postits) - 1)
    more_text = fonts.fit(_fmt(labels.more, _ENGLISH.more, n=more), width, 8.0,
                          weight="bold") if more else ""
    if more_text:
        height += 15
    return postits, more_text, height


def _draw_cell(sheet: _Sheet, labels: MapLabels, postits: list[_PostIt], more: str,
               x: float, y: float, width: float) -> None:
    for postit in postits:
        postit.draw(sheet, x, y, labels)
        y += postit.height + NOTE_GAP
    if more:
        y = y - NOTE_GAP if postits else y
        sheet.rect(x, y + 3, width, 12, fc=BAND, ec=RULE, lw=0.6, r=6, z=4)
        sheet.text(x + width / 2, y + 12, more, size=8.0, color=MUTED, weight="bold",
                   ha="center")


# --------------------------------------------------------------------------------------------
# The journey map
# --------------------------------------------------------------------------------------------

MARGIN = 28.0
LANE_W = 124.0
CELL_PAD = 8.0
STAGE_H = 42.0
EMO_PLOT_H = 128.0
QUOTE_SIZE, QUOTE_PITCH = 9.0, 11.6


def _column_width(stages: int) -> float:
    if stages <= 5:
        return 200.0
    if stages <= 8:
        return 180.0
    if stages <= 12:
        return 160.0
    return 150.0


def _header(sheet: _Sheet, mp: _Map, labels: MapLabels, x0: float, x1: float,
            y: float, title: str | None = None, *, pill: bool = True,
            facts: bool = True) -> float:
    """Workshop (kicker), title (the group), customer type and channel focus; the version
    pill and the date at the right. Returns the y below the header.
    """
    fonts = sheet.fonts
    top = y
    version = _label(labels.versions, mp.version.lower(), _EN_VERSIONS) if mp.version else ""
    made_on = _date(mp.made_on, labels)
    if not pill:
        version = made_on = ""
    right_w = 0.0
    if version:
        version = fonts.fit(("✓ " if mp.validated else "◌ ") + version, 200, 10.5,
                            weight="bold")
        right_w = fonts.width(version, 10.5, "bold") + 12
    if made_on:
        made_on = fonts.fit(made_on, 200, 10.5)
        right_w = max(right_w, fonts.width(made_on, 10.5))
    width = x1 - x0 - right_w - 24
    kicker = fonts.fit(mp.workshop.upper() if len(mp.workshop) < 80 else mp.workshop,
                       width, 10.5, weight="bold")
    sheet.text(x0, y + 11, kicker, size=10.5, color=MUTED, weight="bold")
    title_lines = fonts.wrap(title if title is not None else mp.group, width, 26,
                             weight="bold", max_lines=2)
    for i, line in enumerate(title_lines):
        sheet.text(x0, y + 43 + i * 30, line, size=26, weight="bold", color=INK)
    y += 43 + max(0, len(title_lines) - 1) * 30 + 14
    # facts row: "Customer type  Young urban professionals     Channel focus  100% online"
    x = x0
    shown = [(labels.customer_type, mp.customer_type), (labels.channel_focus, mp.channel_focus)]
    for key, value in shown if facts else ():
        if not value:
            continue
        key_text = fonts.fit(_str(key).upper(), 160, 9.0, weight="bold")
        key_w = fonts.width(key_text, 9.0, "bold")
        room = x0 + width - x - key_w - 7
        if room < 40:
            break
        value_text = fonts.fit(value, room, 12)
        sheet.text(x, y + 13, key_text, size=9.0, color=FAINT, weight="bold")
        sheet.text(x + key_w + 7, y + 13, value_text, size=12, color=INK)
        x += key_w + 7 + fonts.width(value_text, 12) + 28
    if facts and (mp.customer_type or mp.channel_focus):
        y += 21
    # right column: version pill + date
    if version:
        if mp.validated:
            sheet.pill(x1, top, version, size=10.5, color=WHITE,
                       fill=MARK_STYLES["confirmed"].color, weight="bold", align="right")
        else:
            sheet.pill(x1, top, version, size=10.5, color=NAVY, fill=WHITE, edge=NAVY,
                       weight="bold", align="right")
    if made_on:
        sheet.text(x1, top + 35, made_on, size=10.5, color=MUTED, ha="right")
    return y


def _review_legend(sheet: _Sheet, labels: MapLabels, x0: float, x1: float, y: float,
                   customer_curve: bool, marks: bool) -> float:
    """Legend row of validated maps: marks, customer post-its, the two curves."""
    fonts = sheet.fonts
    x = x0
    items: list[Callable[[float], float]] = []

    def mark_item(key: str) -> Callable[[float], float]:
        style = MARK_STYLES[key]
        text = fonts.fit(f"{style.symbol} {_label(labels.marks, key, _EN_MARKS)}", 120, 8.0,
                         weight="bold")

        def draw(at: float) -> float:
            return sheet.pill(at, y, text, size=8.0, color=style.color, fill=style.fill,
                              edge=style.color, weight="bold")
        return draw

    def customer_item(at: float) -> float:
        text = fonts.fit(_str(labels.customer), 120, 8.0, weight="bold")
        return sheet.pill(at, y, text, size=8.0, color=WHITE, fill=CUSTOMER_COLOR,
                          weight="bold")

    def curve_item(label: str, color: str, ls: Any, marker: str) -> Callable[[float], float]:
        text = fonts.fit(label, 160, 8.5)

        def draw(at: float) -> float:
            mid = y + 6.2
            sheet.line([at, at + 26], [mid, mid], color=color, lw=2.0, ls=ls, z=6)
            sheet.marker(at + 13, mid, marker, size=5.5, color=color, edge=WHITE)
            sheet.text(at + 31, mid + 3.1, text, size=8.5, color=INK)
            return 31 + fonts.width(text, 8.5)
        return draw

    title = fonts.fit(labels.review_legend, 200, 8.5, weight="bold") if marks else ""
    if marks:
        items += [mark_item(k) for k in MARKS] + [customer_item]
    items.append(curve_item(_str(labels.team_curve), TEAM_COLOR, "solid", "o"))
    if customer_curve:
        items.append(curve_item(_str(labels.customers), CUSTOMER_COLOR, (0, (4, 2)), "s"))
    if title:
        sheet.text(x, y + 9.2, title, size=8.5, color=MUTED, weight="bold")
        x += fonts.width(title, 8.5, "bold") + 8
    for item in items:
        if x > x1 - 60:
            break
        x += item(x) + 10
    return y + 20


def _layout_map(m: Any, labels: MapLabels) -> tuple[_Sheet, float, float]:
    fonts = _Fonts(labels.font)
    sheet = _Sheet(fonts)
    mp = _view(m, labels)
    n = len(mp.stages)
    col_w = _column_width(n)
    grid_w = col_w * max(n, 3)
    width = MARGIN * 2 + LANE_W + grid_w
    x0, x1 = MARGIN, width - MARGIN
    gx = x0 + LANE_W  # left edge of the first stage column
    y = _header(sheet, mp, labels, x0, x1, MARGIN)
    any_marks = any(note.mark or note.customer for s in mp.stages for note in s.notes)
    customer_curve = any(s.customer_score is not None for s in mp.stages)
    if mp.validated or any_marks or customer_curve:
        y = _review_legend(sheet, labels, x0, x1, y + 4, customer_curve, True)
    y += 10
    sheet.line([x0, x1], [y, y], color=RULE, lw=1.0)
    y += 14

    if n == 0:
        box_h = 150.0
        sheet.rect(gx - LANE_W, y, x1 - x0, box_h, fc=BAND, ec=RULE, lw=1.0,
                   ls=(0, (5, 3)), r=8)
        title = fonts.fit(labels.no_stages, x1 - x0 - 40, 15, weight="bold")
        sheet.text((x0 + x1) / 2, y + box_h / 2 - 4, title, size=15, weight="bold",
                   color=MUTED, ha="center")
        sub = fonts.fit(labels.empty, x1 - x0 - 40, 10.5)
        sheet.text((x0 + x1) / 2, y + box_h / 2 + 18, sub, size=10.5, color=FAINT,
                   ha="center")
        y += box_h + 14
        return sheet, width, _footer(sheet, mp, labels, x0, x1, y)

    # stage headers: chevrons
    stage_lines = [fonts.wrap(s.name, col_w - 34, 12.5, weight="bold", max_lines=2)
                   for s in mp.stages]
    head_h = STAGE_H + (15 if any(len(lines) > 1 for lines in stage_lines) else 0)
    tip = 11.0
    for i, lines in enumerate(stage_lines):
        left, right = gx + i * col_w + 1, gx + (i + 1) * col_w - 1
        notch = tip if i else 0.0
        point = tip - 1 if i < n - 1 else 0.0
        shade = NAVY if i % 2 == 0 else _mix(NAVY, 0.86)
        sheet.poly([(left, y), (right, y), (right + point, y + head_h / 2),
                    (right, y + head_h), (left, y + head_h), (left + notch, y + head_h / 2)],
                   fc=shade, z=3)
        sheet.text(left + notch + 7, y + 12, str(i + 1), size=7.5, color=_mix(WHITE, 0.65,
                   NAVY), weight="bold")
        cx = (left + notch + right) / 2 + 3
        start = y + head_h / 2 - (len(lines) - 1) * 7.5 + 4.5
        for j, line in enumerate(lines):
            sheet.text(cx, start + j * 15, line, size=12.5, color=WHITE, weight="bold",
                       ha="center")
    y += head_h + 8

    note_w = col_w - 2 * CELL_PAD
    total = mp.count()
    lanes_top = y
    for lane_index, kind in enumerate(KINDS):
        lane = LANE_STYLES[kind]
        if kind == "emotion":
            lane_h = _emotion_lane(sheet, mp, labels, gx, y, col_w)
        else:
            cells = [_layout_cell(fonts, labels, _ordered(s.of(kind), kind), note_w,
                                  MAX_NOTES_PER_CELL) for s in mp.stages]
            lane_h = max([c[2] for c in cells] + [22.0]) + 2 * CELL_PAD + 4
            for i, (postits, more, _h) in enumerate(cells):
                _draw_cell(sheet, labels, postits, more, gx + i * col_w + CELL_PAD,
                           y + CELL_PAD + 2, note_w)
        title_lines = fonts.wrap(_lanes(labels, kind), LANE_W - 30, 11, weight="bold",
                                 max_lines=3)
        lane_h = max(lane_h, 22 + 14 * len(title_lines) + 14)
        if lane_index % 2 == 0:
            sheet.rect(x0, y, x1 - x0, lane_h, fc=BAND, z=0.5)
        sheet.rect(x0, y + 3, 4, lane_h - 6, fc=lane.accent, z=1)
        sheet.marker(x0 + 15, y + 16, lane.marker, size=7, color=lane.accent, edge=WHITE)
        for j, line in enumerate(title_lines):
            sheet.text(x0 + 25, y + 20 + j * 14, line, size=11, weight="bold", color=INK)
        count = mp.count(kind)
        sheet.text(x0 + 25, y + 20 + len(title_lines) * 14, _postits(count, labels),
                   size=8, color=FAINT)
        y += lane_h
        sheet.line([x0, x1], [y, y], color=RULE, lw=0.6, z=1)
    for i in range(1, n):
        gx_i = gx + i * col_w
        sheet.line([gx_i, gx_i], [lanes_top, y], color=RULE, lw=0.6, ls=(0, (2, 2)), z=1)
    if total == 0:
        msg = fonts.fit(labels.empty, min(grid_w - 40, 420), 14, weight="bold")
        msg_w = fonts.width(msg, 14, "bold") + 36
        mid_x, mid_y = gx + grid_w / 2, (lanes_top + y) / 2
        sheet.rect(mid_x - msg_w / 2, mid_y - 20, msg_w, 40, fc=WHITE, ec=RULE, lw=1.0,
                   r=20, z=8)
        sheet.text(mid_x, mid_y + 5, msg, size=14, weight="bold", color=MUTED, ha="center",
                   z=9)
    y += 12
    return sheet, width, _footer(sheet, mp, labels, x0, x1, y)


def _footer(sheet: _Sheet, mp: _Map, labels: MapLabels, x0: float, x1: float,
            y: float) -> float:
    fonts = sheet.fonts
    left = _postits(mp.count(), labels)
    if mp.hidden_stages:
        left += " · " + _fmt(labels.more_stages, _ENGLISH.more_stages, n=mp.hidden_stages)
    sheet.text(x0, y + 10, fonts.fit(left, (x1 - x0) / 2, 8), size=8, color=FAINT)
    sheet.text(x1, y + 10, fonts.fit(labels.footer, (x1 - x0) / 3, 8, weight="bold"),
               size=8, color=FAINT, weight="bold", ha="right")
    return y + 14 + MARGIN


def _score_y(top: float, height: float, score: float) -> float:
    return top + (2.4 - score) / 4.8 * height


def _emotion_lane(sheet: _Sheet, mp: _Map, labels: MapLabels, gx: float, y: float,
                  col_w: float) -> float:
    """Emotion curve(s) with a -2..+2 scale and the shortest quote under each point."""
    fonts = sheet.fonts
    n = len(mp.stages)
    team = [s.mean_emotion() for s in mp.stages]
    customers = [s.customer_score for s in mp.stages]
    has_team = any(v is not None for v in team)
    has_customers = any(v is not None for v in customers)
    plot_h = EMO_PLOT_H if (has_team or has_customers) else 70.0
    top = y + 10
    right = gx + n * col_w
    # positive / negative halves, grid lines and the scale
    zero = _score_y(top, plot_h, 0)
    sheet.rect(gx, top, right - gx, zero - top, fc=_mix("#009E73", 0.05), z=0.8)
    sheet.rect(gx, zero, right - gx, top + plot_h - zero, fc=_mix("#D55E00", 0.05), z=0.8)
    for value in (2, 1, 0, -1, -2):
        gy = _score_y(top, plot_h, value)
        sheet.line([gx, right], [gy, gy], color="#B8BFC8" if value == 0 else RULE,
                   lw=0.9 if value == 0 else 0.5, ls="solid" if value == 0 else (0, (1, 2)),
                   z=1)
        tick = "0" if value == 0 else f"{value:+d}".replace("-", "−")
        sheet.text(gx - 6, gy + 2.9, tick, size=8.5, color=FAINT, ha="right")
    # quotes under the curve
    quote_lines = []
    for stage in mp.stages:
        quotes = [fonts.clean(n.text) for n in stage.of("emotion") if not n.rejected]
        quote = min((q for q in quotes if q), key=len, default="")
        style = fonts.style_for(quote, "normal", "italic") if quote else "italic"
        text = _fmt(labels.quote, _ENGLISH.quote, text=quote) if quote else ""
        quote_lines.append((fonts.wrap(text, col_w - 2 * CELL_PAD - 4, QUOTE_SIZE,
                                       style=style, max_lines=3), style))
    quote_h = max((len(lines) for lines, _ in quote_lines), default=0) * QUOTE_PITCH
    for i, (lines, style) in enumerate(quote_lines):
        cx = gx + (i + 0.5) * col_w
        for j, line in enumerate(lines):
            sheet.text(cx, _baseline(top + plot_h + 14, j, QUOTE_SIZE, QUOTE_PITCH), line,
                       size=QUOTE_SIZE, color=MUTED, style=style, ha="center")
    # the curves
    xs = [gx + (i + 0.5) * col_w for i in range(n)]

    def curve(values: list[float | None], color: str, ls: Any, marker: str) -> None:
        ys = [_score_y(top, plot_h, v) if v is not None else math.nan for v in values]
        present = [i for i, yv in enumerate(ys) if not math.isnan(yv)]
        for a, b in zip(present, present[1:], strict=False):  # dotted bridge over stages without ratings
            if b > a + 1:
                sheet.line([xs[a], xs[b]], [ys[a], ys[b]], color=color, lw=1.2,
                           ls=(0, (1, 2.5)), z=5)
        sheet.line(xs, ys, color=color, lw=2.4, ls=ls, z=6 if marker == "o" else 5.5,
                   marker=marker, ms=8.5 if marker == "o" else 10, mfc=color, mec=WHITE,
                   mew=1.5)

    if has_customers:  # under the team's curve: equal values stay visible (circle in square)
        curve(customers, CUSTOMER_COLOR, (0, (5, 2.5)), "s")
    if has_team:
        curve(team, TEAM_COLOR, "solid", "o")
    for i, x in enumerate(xs):
        t, c = team[i], customers[i]
        for value, color, other, series in ((t, TEAM_COLOR, c, team),
                                            (c, CUSTOMER_COLOR, t, customers)):
            if value is None:
                continue
            if other is not None and abs(other - value) > 1e-9:
                above = value > other  # the upper curve labels above, the lower below
            else:
                near = [v for v in (series[i - 1] if i else None,
                                    series[i + 1] if i + 1 < n else None) if v is not None]
                above = not near or sum(near) / len(near) <= value
                if other is not None:  # same value: team above, customers below
                    above = color == TEAM_COLOR
            vy = _score_y(top, plot_h, value)
            sheet.text(x, vy - 9 if above else vy + 18, _number(value, labels), size=9,
                       color=color, weight="bold", ha="center", z=8, halo=True)
    return 10 + plot_h + 14 + quote_h + (8 if quote_h else 0)


def render_map(m: JourneyMap, labels: MapLabels | None = None, *, fmt: str = "png",
               dpi: float = DEFAULT_DPI) -> bytes:
    """One group's journey map as PNG (for Slack) or PDF (for print) bytes.

    ``labels`` defaults to `MapLabels.english()`. ``dpi`` only affects raster formats
    (the default 120 gives ~1970 px for 5 stages; use 60-100 for thumbnails, 150-200 for
    large screens). Never raises on odd data; raises ``ValueError`` only for an unsupported
    ``fmt``.
    """
    labels = labels if isinstance(labels, MapLabels) else _ENGLISH
    return _guarded("journey map", lambda: _layout_map(m, labels), fmt, dpi, labels.font)


# --------------------------------------------------------------------------------------------
# Alt text
# --------------------------------------------------------------------------------------------

ALT_TEXT_LIMIT = 1000


def _short(text: str, limit: int) -> str:
    text = " ".join(_str(text).split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def alt_text(m: JourneyMap, labels: MapLabels | None = None) -> str:
    """A concise description of ``render_map(m)`` for Slack's ``alt_text`` (<= 1000 chars).

    Version, group, workshop, customer type, channel focus, date; the stages in order; the
    post-it count per lane; the lowest emotional moment (team mean) with its shortest quote;
    on validated maps the customers' lowest moment and the review counts; the top-voted pain
    point. Never raises.
    """
    labels = labels if isinstance(labels, MapLabels) else _ENGLISH
    try:
        return _alt_text(m, labels)
    except Exception:
        logger.exception("could not describe a journey map")
        return _short(_str(getattr(m, "group", "")) or "Journey map", ALT_TEXT_LIMIT)


def _alt_text(m: Any, labels: MapLabels) -> str:
    mp = _view(m, labels)
    for squeeze in (80, 40, 20):
        text = " ".join(p for p in _alt_parts(mp, labels, squeeze) if p)
        if len(text) <= ALT_TEXT_LIMIT:
            return text
    return _short(text, ALT_TEXT_LIMIT)


def _alt_parts(mp: _Map, labels: MapLabels, squeeze: int) -> list[str]:
    def score(value: float) -> str:
        return _number(value, labels, ascii_minus=True)

    version = _label(labels.versions, mp.version.lower(), _EN_VERSIONS) if mp.version else ""
    title = " — ".join(_short(p, squeeze * 2) for p in (version, mp.group, mp.workshop) if p)
    facts = [_fmt(labels.alt_fact, _ENGLISH.alt_fact, label=_str(key),
                  value=_short(value, squeeze)) for key, value in (
        (labels.customer_type, mp.customer_type), (labels.channel_focus, mp.channel_focus))
        if value]
    made_on = _date(mp.made_on, labels)
    parts = [title + "." if title else "", *facts, made_on + "." if made_on else ""]
    if not mp.stages:
        parts.append(_str(labels.no_stages) + ".")
        return parts
    names = ", ".join(_short(s.name, max(12, squeeze // 2)) for s in mp.stages)
    if mp.hidden_stages:
        names += ", " + _fmt(labels.more_stages, _ENGLISH.more_stages, n=mp.hidden_stages)
    parts.append(_fmt(labels.alt_stages, _ENGLISH.alt_stages, n=len(mp.stages), names=names))
    total = mp.count()
    if not total:
        parts.append(_str(labels.empty) + ".")
        return parts
    details = ", ".join(f"{_lanes(labels, k)} {mp.count(k)}" for k in KINDS if mp.count(k))
    parts.append(_fmt(labels.alt_postits, _ENGLISH.alt_postits, n=total, details=details))
    team = [(s.mean_emotion(), i) for i, s in enumerate(mp.stages)]
    team = [(v, i) for v, i in team if v is not None]
    if team:
        value, index = min(team)
        stage = mp.stages[index]
        quote = stage.quote()
        quote = " — " + _fmt(labels.quote, _ENGLISH.quote, text=_short(quote, squeeze)) \
            if quote else ""
        parts.append(_fmt(labels.alt_lowest, _ENGLISH.alt_lowest,
                          stage=_short(stage.name, squeeze), score=score(value), quote=quote))
    customers = [(s.customer_score, i) for i, s in enumerate(mp.stages)
                 if s.customer_score is not None]
    if customers:
        value, index = min(customers)
        parts.append(_fmt(labels.alt_customer_lowest, _ENGLISH.alt_customer_lowest,
                          stage=_short(mp.stages[index].name, squeeze), score=score(value)))
    pains = [(n, s) for s in mp.stages for n in s.of("pain") if not n.rejected]
    if pains:
        note, stage = max(pains, key=lambda p: p[0].votes)
        text = _fmt(labels.quote, _ENGLISH.quote, text=_short(note.text, squeeze * 2))
        parts.append(_fmt(labels.alt_top_pain, _ENGLISH.alt_top_pain, text=text,
                          votes=_votes(note.votes, labels), stage=_short(stage.name, squeeze)))
    marks = [n.mark for s in mp.stages for n in s.notes if n.mark]
    if marks:
        details = ", ".join(_mark_count(labels, k, marks.count(k))
                            for k in MARKS if marks.count(k))
        parts.append(_fmt(labels.alt_review, _ENGLISH.alt_review, details=details))
    return parts


# --------------------------------------------------------------------------------------------
# Shared pieces for the other images
# --------------------------------------------------------------------------------------------


def _empty_panel(sheet: _Sheet, x0: float, x1: float, y: float, text: str,
                 height: float = 110.0) -> float:
    fonts = sheet.fonts
    sheet.rect(x0, y, x1 - x0, height, fc=BAND, ec=RULE, lw=1.0, ls=(0, (5, 3)), r=8)
    msg = fonts.fit(text, x1 - x0 - 40, 13, weight="bold")
    sheet.text((x0 + x1) / 2, y + height / 2 + 4.5, msg, size=13, weight="bold", color=MUTED,
               ha="center")
    return y + height


def _signature(sheet: _Sheet, labels: MapLabels, x1: float, y: float) -> float:
    sheet.text(x1, y + 10, sheet.fonts.fit(labels.footer, 200, 8, weight="bold"), size=8,
               color=FAINT, weight="bold", ha="right")
    return y + 14 + MARGIN


def _common(values: Iterable[str]) -> str:
    values = [v for v in values]
    return values[0] if values and all(v == values[0] for v in values) else ""


def _mark_order(note: _Note) -> int:
    return MARKS.index(note.mark) if note.mark in MARKS else len(MARKS)


def _stage_name(maps: Sequence[_Map], index: int, labels: MapLabels) -> str:
    for mp in maps:
        if index < len(mp.stages) and mp.stages[index].name:
            return mp.stages[index].name
    return _fmt(labels.stage, _ENGLISH.stage, n=index + 1)


# --------------------------------------------------------------------------------------------
# Comparison: hypothetical vs validated for one group
# --------------------------------------------------------------------------------------------

CMP_STAGE_W, CMP_SIDE_W, CMP_ARROW_W = 196.0, 250.0, 28.0
CMP_CAP = 8


def render_comparison(hypothetical: JourneyMap, validated: JourneyMap,
                      labels: MapLabels | None = None, fmt: str = "png", *,
                      dpi: float = DEFAULT_DPI, kinds: Sequence[str] = ("step",)) -> bytes:
    """What customers changed for one group, one row per stage (matched by position).

    Left: the hypothetical map's post-its of ``kinds`` (steps by default); right: the
    validated map's, grouped confirmed / corrected / new / rejected / not reviewed with their
    badges; in the stage cell, the counts per mark and the team vs customers emotion.
    """
    labels = labels if isinstance(labels, MapLabels) else _ENGLISH
    return _guarded("comparison", lambda: _layout_comparison(hypothetical, validated, labels,
                                                             kinds), fmt, dpi, labels.font)


def _layout_comparison(hyp: Any, val: Any, labels: MapLabels,
                       kinds: Sequence[str]) -> tuple[_Sheet, float, float]:
    fonts = _Fonts(labels.font)
    sheet = _Sheet(fonts)
    before, after = _view(hyp, labels), _view(val, labels)
    kinds = tuple(k for k in (_str(k).lower() for k in _seq(kinds)) if k in KINDS) or ("step",)
    width = MARGIN * 2 + CMP_STAGE_W + 2 * CMP_SIDE_W + CMP_ARROW_W
    x0, x1 = MARGIN, width - MARGIN
    title = " · ".join(p for p in (_str(labels.comparison_title), after.group or before.group)
                       if p)
    head = after if (after.workshop or after.group) else before
    y = _header(sheet, head, labels, x0, x1, MARGIN, title, pill=False)
    rows = max(len(before.stages), len(after.stages))
    notes_after = [n for s in after.stages for n in s.notes if n.kind in kinds]
    # totals per mark
    x = x0
    for key in (*MARKS, None):
        count = sum(1 for n in notes_after if n.mark == key)
        if key is None:
            if not count:
                continue
            text = f"{count} {_str(labels.not_reviewed)}"
            x += sheet.pill(x, y + 2, fonts.fit(text, 160, 8.5, weight="bold"), size=8.5,
                            color=MUTED, fill=WHITE, edge=RULE, weight="bold") + 6
            continue
        style = MARK_STYLES[key]
        text = fonts.fit(f"{style.symbol} {_mark_count(labels, key, count)}", 150, 8.5,
                         weight="bold")
        x += sheet.pill(x, y + 2, text, size=8.5, color=style.color if count else FAINT,
                        fill=style.fill if count else WHITE,
                        edge=style.color if count else RULE, weight="bold") + 6
    y += 24
    sheet.line([x0, x1], [y, y], color=RULE, lw=1.0)
    y += 12
    hx = x0 + CMP_STAGE_W
    vx = hx + CMP_SIDE_W + CMP_ARROW_W
    # column titles
    for cx, mp, key in ((hx, before, "hypothetical"), (vx, after, "validated")):
        name = fonts.fit(_label(labels.versions, key, _EN_VERSIONS), CMP_SIDE_W - 10, 11,
                         weight="bold")
        sheet.text(cx + 4, y + 12, name, size=11, weight="bold", color=INK)
        made_on = fonts.fit(_date(mp.made_on, labels), CMP_SIDE_W - 10, 8.5)
        sheet.text(cx + 4, y + 25, made_on, size=8.5, color=MUTED)
    y += 34
    if rows == 0 or (not notes_after and not any(
            n.kind in kinds for s in before.stages for n in s.notes)):
        y = _empty_panel(sheet, x0, x1, y, labels.no_stages if rows == 0 else labels.empty)
        return sheet, width, _signature(sheet, labels, x1, y + 10)
    note_w = CMP_SIDE_W - 2 * CELL_PAD
    for i in range(rows):
        stage_b = before.stages[i] if i < len(before.stages) else None
        stage_a = after.stages[i] if i < len(after.stages) else None
        left = [n for n in (stage_b.notes if stage_b else ()) if n.kind in kinds]
        right = sorted((n for n in (stage_a.notes if stage_a else ()) if n.kind in kinds),
                       key=_mark_order)
        # bare hypothetical post-its: no marks even if the data carried some
        left = [_Note(n.kind, n.text, n.channel, n.score, n.votes, n.author, n.customer, None,
                      0) for n in left]
        cell_l = _layout_cell(fonts, labels, left, note_w, CMP_CAP)
        cell_r = _layout_cell(fonts, labels, right, note_w, CMP_CAP)
        name = _stage_name([after, before], i, labels)
        name_lines = fonts.wrap(name, CMP_STAGE_W - 40, 11, weight="bold", max_lines=3)
        info: list[tuple[str, str, str]] = []  # (text, colour, weight)
        for key in MARKS:
            count = sum(1 for n in right if n.mark == key)
            if count:
                style = MARK_STYLES[key]
                info.append((f"{style.symbol} {_mark_count(labels, key, count)}",
                             style.color, "bold"))
        team = stage_b.mean_emotion() if stage_b else None
        team = team if team is not None or not stage_a else stage_a.mean_emotion()
        customer = stage_a.customer_score if stage_a else None
        emotions = []
        if team is not None:
            emotions.append((_str(labels.team_curve), _number(team, labels), TEAM_COLOR, "o"))
        if customer is not None:
            emotions.append((_str(labels.customers), _number(customer, labels),
                             CUSTOMER_COLOR, "s"))
        stage_h = 14 + len(name_lines) * 14 + len(info) * 13 + (
            8 + 14 * (len(emotions) + 1) if emotions else 0) + 10
        row_h = max(stage_h, cell_l[2] + 2 * CELL_PAD, cell_r[2] + 2 * CELL_PAD, 44)
        if i % 2 == 0:
            sheet.rect(x0, y, x1 - x0, row_h, fc=BAND, z=0.5)
        sheet.rect(x0, y + 3, 4, row_h - 6, fc=NAVY, z=1)
        sheet.text(x0 + 14, y + 19, str(i + 1), size=9, weight="bold", color=FAINT)
        for j, line in enumerate(name_lines):
            sheet.text(x0 + 30, y + 19 + j * 14, line, size=11, weight="bold", color=INK)
        ty = y + 19 + len(name_lines) * 14 + 2
        for text, color, weight in info:
            sheet.text(x0 + 30, ty, fonts.fit(text, CMP_STAGE_W - 40, 8.5, weight=weight),
                       size=8.5, color=color, weight=weight)
            ty += 13
        if emotions:
            ty += 8
            sheet.text(x0 + 30, ty, fonts.fit(_lanes(labels, "emotion"), CMP_STAGE_W - 40, 8,
                                              weight="bold"), size=8, color=MUTED,
                       weight="bold")
            for label, value, color, marker in emotions:
                ty += 14
                sheet.marker(x0 + 34, ty - 3, marker, size=6, color=color, edge=WHITE)
                value_w = fonts.width(value, 9, "bold")
                sheet.text(x0 + 42, ty, fonts.fit(label, CMP_STAGE_W - 60 - value_w, 8.5),
                           size=8.5, color=INK)
                sheet.text(x0 + CMP_STAGE_W - 10, ty, value, size=9, weight="bold",
                           color=color, ha="right")
        _draw_cell(sheet, labels, cell_l[0], cell_l[1], hx + CELL_PAD, y + CELL_PAD, note_w)
        _draw_cell(sheet, labels, cell_r[0], cell_r[1], vx + CELL_PAD, y + CELL_PAD, note_w)
        arrow_y = y + CELL_PAD + 16
        sheet.text(hx + CMP_SIDE_W + CMP_ARROW_W / 2, arrow_y, "→", size=14, color=FAINT,
                   weight="bold", ha="center")
        y += row_h
        sheet.line([x0, x1], [y, y], color=RULE, lw=0.6, z=1)
    return sheet, width, _signature(sheet, labels, x1, y + 10)


# --------------------------------------------------------------------------------------------
# Side by side: several maps as compact columns
# --------------------------------------------------------------------------------------------

SBS_HEAD_W, SBS_COL_W = 150.0, 230.0
MAX_MAPS = 10


def render_side_by_side(maps: Sequence[JourneyMap], labels: MapLabels | None = None,
                        fmt: str = "png", *, dpi: float = DEFAULT_DPI) -> bytes:
    """Several maps next to each other (e.g. one customer type across channel focuses).

    One compact column per map (at most 10), one row per stage position: an emotion gauge
    (team mean, and customers on validated maps), the steps, the touchpoint channels and
    the top-voted pain point.
    """
    labels = labels if isinstance(labels, MapLabels) else _ENGLISH
    return _guarded("side-by-side maps", lambda: _layout_side_by_side(maps, labels), fmt, dpi,
                    labels.font)


def _legend_shapes(sheet: _Sheet, labels: MapLabels, x: float, y: float,
                   items: Sequence[tuple[str, str, str]], x1: float) -> None:
    """A row of (marker, colour, text) legend items with top at y."""
    fonts = sheet.fonts
    for marker, color, text in items:
        text = fonts.fit(text, 200, 8.5)
        if x + 14 + fonts.width(text, 8.5) > x1:
            break
        sheet.marker(x + 4, y + 6, marker, size=6.5, color=color, edge=WHITE)
        sheet.text(x + 13, y + 9.2, text, size=8.5, color=INK)
        x += 13 + fonts.width(text, 8.5) + 16


def _gauge(sheet: _Sheet, labels: MapLabels, x: float, y: float, w: float,
           team: float | None, customers: float | None) -> None:
    """A -2..+2 track with the team (circle) and customers (square) values; top at y."""
    fonts = sheet.fonts
    track_w = w - 78
    mid = y + 8

    def at(value: float) -> float:
        return x + 6 + (value + 2) / 4 * track_w

    sheet.line([x + 6, x + 6 + track_w], [mid, mid], color=RULE, lw=3.0)
    sheet.line([at(0), at(0)], [mid - 5, mid + 5], color=FAINT, lw=0.8)
    sheet.text(x + 6, mid + 13, "−2", size=6, color=FAINT, ha="center")
    sheet.text(x + 6 + track_w, mid + 13, "+2", size=6, color=FAINT, ha="center")
    texts = []
    if customers is not None:
        sheet.marker(at(customers), mid, "s", size=7.5, color=CUSTOMER_COLOR, edge=WHITE)
        texts.append((_number(customers, labels), CUSTOMER_COLOR))
    if team is not None:
        sheet.marker(at(team), mid, "o", size=8.5, color=TEAM_COLOR, edge=WHITE, z=8)
        texts.insert(0, (_number(team, labels), TEAM_COLOR))
    tx = x + track_w + 16
    for text, color in texts:
        sheet.text(tx, mid + 3.3, text, size=8.5, weight="bold", color=color)
        tx += fonts.width(text, 8.5, "bold") + 6


def _layout_side_by_side(maps: Any, labels: MapLabels) -> tuple[_Sheet, float, float]:
    fonts = _Fonts(labels.font)
    sheet = _Sheet(fonts)
    views = [_view(m, labels) for m in _seq(maps) if m is not None]
    hidden = max(0, len(views) - MAX_MAPS)
    views = views[:MAX_MAPS]
    width = MARGIN * 2 + SBS_HEAD_W + SBS_COL_W * max(len(views), 2)
    x0, x1 = MARGIN, width - MARGIN
    customer_type = _common(v.customer_type for v in views)
    head = _Map(_common(v.workshop for v in views), "", customer_type, "", "", None, (), 0)
    y = _header(sheet, head, labels, x0, x1, MARGIN, _str(labels.side_by_side_title),
                pill=False)
    customer_curve = any(s.customer_score is not None for v in views for s in v.stages)
    _legend_shapes(sheet, labels, x0, y, [
        ("o", TEAM_COLOR, _str(labels.team_curve)),
        *([("s", CUSTOMER_COLOR, _str(labels.customers))] if customer_curve else []),
        (LANE_STYLES["step"].marker, LANE_STYLES["step"].accent, _lanes(labels, "step")),
        (LANE_STYLES["touchpoint"].marker, LANE_STYLES["touchpoint"].accent,
         _lanes(labels, "touchpoint")),
        (LANE_STYLES["pain"].marker, LANE_STYLES["pain"].accent, _str(labels.top_pain)),
    ], x1)
    y += 22
    sheet.line([x0, x1], [y, y], color=RULE, lw=1.0)
    y += 12
    if not views:
        y = _empty_panel(sheet, x0, x1, y, labels.empty)
        return sheet, width, _signature(sheet, labels, x1, y + 10)
    gx = x0 + SBS_HEAD_W
    inner = SBS_COL_W - 2 * CELL_PAD
    # column headers
    heads = []
    for mp in views:
        lines = [(fonts.fit(mp.group, inner - 12, 12, weight="bold"), 12.0, "bold", INK)]
        if not customer_type and mp.customer_type:
            lines.append((fonts.fit(mp.customer_type, inner - 12, 8.5), 8.5, "normal", MUTED))
        version = _label(labels.versions, mp.version.lower(), _EN_VERSIONS) if mp.version \
            else ""
        sub = " · ".join(p for p in (version, _date(mp.made_on, labels)) if p)
        lines.append((fonts.fit(sub, inner - 12, 8), 8.0, "normal", MUTED))
        heads.append(lines)
    has_focus = any(mp.channel_focus for mp in views)
    head_h = 14 + max(sum(s * 1.45 for _, s, _, _ in h) for h in heads) + (22 if has_focus
                                                                           else 0)
    for i, (mp, lines) in enumerate(zip(views, heads, strict=True)):
        cx = gx + i * SBS_COL_W + 4
        sheet.rect(cx, y, SBS_COL_W - 8, head_h, fc=NAVY if i % 2 == 0 else _mix(NAVY, 0.86),
                   r=5, z=2)
        ty = y + 8
        if has_focus and mp.channel_focus:
            focus = fonts.fit(mp.channel_focus, inner - 20, 9, weight="bold")
            sheet.pill(cx + 8, ty, focus, size=9, color=NAVY, fill=WHITE, weight="bold")
        ty += 22 if has_focus else 0
        for text, size, weight, color in lines:
            ty += size * 1.45
            sheet.text(cx + 9, ty - size * 0.3, text, size=size, weight=weight,
                       color=WHITE if color == INK else _mix(WHITE, 0.78, NAVY))
    y += head_h + 8
    rows = max(len(mp.stages) for mp in views)
    if rows == 0:
        y = _empty_panel(sheet, x0, x1, y, labels.no_stages)
        return sheet, width, _signature(sheet, labels, x1, y + 10)
    rows_top = y
    for r in range(rows):
        blocks = []
        for mp in views:
            stage = mp.stages[r] if r < len(mp.stages) else None
            blocks.append(_sbs_block(fonts, labels, stage, inner))
        name_lines = fonts.wrap(_stage_name(views, r, labels), SBS_HEAD_W - 34, 10.5,
                                weight="bold", max_lines=4)
        row_h = max([b[0] for b in blocks] + [20 + 13.5 * len(name_lines)]) + 2 * CELL_PAD
        if r % 2 == 0:
            sheet.rect(x0, y, x1 - x0, row_h, fc=BAND, z=0.5)
        sheet.rect(x0, y + 3, 4, row_h - 6, fc=NAVY, z=1)
        sheet.text(x0 + 13, y + 20, str(r + 1), size=9, weight="bold", color=FAINT)
        for j, line in enumerate(name_lines):
            sheet.text(x0 + 28, y + 20 + j * 13.5, line, size=10.5, weight="bold", color=INK)
        for i, (_h, draw) in enumerate(blocks):
            draw(sheet, gx + i * SBS_COL_W + CELL_PAD, y + CELL_PAD)
        y += row_h
        sheet.line([x0, x1], [y, y], color=RULE, lw=0.6, z=1)
    for i in range(1, len(views)):
        sx = gx + i * SBS_COL_W
        sheet.line([sx, sx], [rows_top, y], color=RULE, lw=0.6, ls=(0, (2, 2)), z=1)
    if hidden:
        sheet.text(x0, y + 12, _fmt(labels.more, _ENGLISH.more, n=hidden), size=8,
                   color=FAINT)
    return sheet, width, _signature(sheet, labels, x1, y + 10)


def _sbs_block(fonts: _Fonts, labels: MapLabels, stage: _Stage | None,
               width: float) -> tuple[float, Callable[[_Sheet, float, float], None]]:
    """Height and drawer of one compact cell."""
    if stage is None:
        return 0.0, lambda sheet, x, y: None
    ops: list[Callable[[_Sheet, float, float], None]] = []
    h = 0.0
    team, customers = stage.mean_emotion(), stage.customer_score
    if team is not None or customers is not None:
        ops.append(lambda sheet, x, y, top=h: _gauge(sheet, labels, x, y + top, width, team,
                                                    customers))
        h += 24
    size, pitch = 8.3, 10.6

    def bullet(kind: str, lines: list[str], top: float, color: str = INK,
               weight: str = "normal") -> Callable[[_Sheet, float, float], None]:
        style = LANE_STYLES[kind]

        def draw(sheet: _Sheet, x: float, y: float) -> None:
            sheet.marker(x + 4, y + top + pitch / 2 + 0.5, style.marker, size=5.5,
                         color=style.accent, edge=WHITE)
            for k, line in enumerate(lines):
                sheet.text(x + 12, _baseline(y + top, k, size, pitch), line, size=size,
                           color=color, weight=weight)
        return draw

    steps = [n for n in stage.of("step") if not n.rejected]
    for note in steps[:3]:
        lines = fonts.wrap(note.text, width - 14, size, max_lines=2) or ["…"]
        ops.append(bullet("step", lines, h))
        h += len(lines) * pitch + 3
    if len(steps) > 3:
        more = fonts.fit(_fmt(labels.more, _ENGLISH.more, n=len(steps) - 3), width - 14, 7.5,
                         weight="bold")
        ops.append(lambda sheet, x, y, top=h, more=more: sheet.text(
            x + 12, y + top + 8, more, size=7.5, color=MUTED, weight="bold"))
        h += 11
    channels: list[str] = []
    for note in stage.of("touchpoint"):
        label = _channel(note.channel, labels) if note.channel.strip() else ""
        if label and label not in channels and not note.rejected:
            channels.append(label)
    if channels:
        h += 3
        lines = fonts.wrap(" · ".join(channels), width - 14, size, max_lines=2)
        ops.append(bullet("touchpoint", lines, h, MUTED))
        h += len(lines) * pitch + 3
    pains = _ordered([n for n in stage.of("pain") if not n.rejected], "pain")
    if pains:
        h += 3
        lines = fonts.wrap(pains[0].text, width - 14, size, max_lines=3) or ["…"]
        if pains[0].votes:
            lines.append(fonts.fit(_votes(pains[0].votes, labels), width - 14, size,
                                   weight="bold"))
        top = h
        pain_ink = LANE_STYLES["pain"].ink

        def pain_draw(sheet: _Sheet, x: float, y: float, lines: list[str] = lines,
                      top: float = top, votes: bool = bool(pains[0].votes)) -> None:
            bullet("pain", lines[:-1] if votes else lines, top)(sheet, x, y)
            if votes:
                sheet.text(x + 12, _baseline(y + top, len(lines) - 1, size, pitch),
                           lines[-1], size=7.5, color=pain_ink, weight="bold")
        ops.append(pain_draw)
        h += len(lines) * pitch
    if not ops:
        ops.append(lambda sheet, x, y: sheet.text(x + 2, y + 12, "—", size=9, color=FAINT))
        h = 16

    def draw_all(sheet: _Sheet, x: float, y: float) -> None:
        for op in ops:
            op(sheet, x, y)
    return h, draw_all


# --------------------------------------------------------------------------------------------
# Emotion overlay: one curve per map
# --------------------------------------------------------------------------------------------

LINE_STYLES: tuple[Any, ...] = ("solid", (0, (6, 2.5)), (0, (1.2, 2)), (0, (7, 2, 1.5, 2)))
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
OVERLAY_H = 230.0


def render_emotion_overlay(maps: Sequence[JourneyMap], labels: MapLabels | None = None,
                           fmt: str = "png", *, dpi: float = DEFAULT_DPI) -> bytes:
    """One emotion curve (team mean per stage) per map on a shared stage axis.

    Stages are matched by position; the axis shows the first map's stage names. Curves
    differ in colour, line style and marker; the legend names group and channel focus (and
    the customer type when the maps do not share one).
    """
    labels = labels if isinstance(labels, MapLabels) else _ENGLISH
    return _guarded("emotion overlay", lambda: _layout_overlay(maps, labels), fmt, dpi,
                    labels.font)


def _layout_overlay(maps: Any, labels: MapLabels) -> tuple[_Sheet, float, float]:
    fonts = _Fonts(labels.font)
    sheet = _Sheet(fonts)
    views = [_view(m, labels) for m in _seq(maps) if m is not None]
    n = max((len(v.stages) for v in views), default=0)
    step = max(84.0, min(150.0, 900.0 / max(n, 1)))
    axis_w = 40.0
    width = MARGIN * 2 + axis_w + step * max(n, 4)
    x0, x1 = MARGIN, width - MARGIN
    customer_type = _common(v.customer_type for v in views)
    head = _Map(_common(v.workshop for v in views), "", customer_type, "", "", None, (), 0)
    y = _header(sheet, head, labels, x0, x1, MARGIN, _str(labels.overlay_title), pill=False)
    sheet.line([x0, x1], [y, y], color=RULE, lw=1.0)
    y += 16
    if not views or n == 0 or not any(s.mean_emotion() is not None
                                      for v in views for s in v.stages):
        y = _empty_panel(sheet, x0, x1, y, labels.empty if n else labels.no_stages)
        return sheet, width, _signature(sheet, labels, x1, y + 10)
    gx, gr = x0 + axis_w, x0 + axis_w + step * n
    top = y + 6
    zero = _score_y(top, OVERLAY_H, 0)
    sheet.rect(gx, top, gr - gx, zero - top, fc=_mix("#009E73", 0.05), z=0.8)
    sheet.rect(gx, zero, gr - gx, top + OVERLAY_H - zero, fc=_mix("#D55E00", 0.05), z=0.8)
    for value in (2, 1, 0, -1, -2):
        gy = _score_y(top, OVERLAY_H, value)
        sheet.line([gx, gr], [gy, gy], color="#B8BFC8" if value == 0 else RULE,
                   lw=0.9 if value == 0 else 0.5, ls="solid" if value == 0 else (0, (1, 2)))
        tick = "0" if value == 0 else f"{value:+d}".replace("-", "−")
        sheet.text(gx - 8, gy + 3, tick, size=8.5, color=FAINT, ha="right")
    xs = [gx + (i + 0.5) * step for i in range(n)]
    for x in xs:
        sheet.line([x, x], [top, top + OVERLAY_H], color=RULE, lw=0.5, ls=(0, (1, 3)))
    label_y = top + OVERLAY_H + 8
    lines_max = 0
    for i, x in enumerate(xs):
        lines = fonts.wrap(_stage_name(views, i, labels), step - 10, 9, weight="bold",
                           max_lines=3)
        lines_max = max(lines_max, len(lines))
        for j, line in enumerate(lines):
            sheet.text(x, _baseline(label_y, j, 9, 11.5), line, size=9, weight="bold",
                       color=INK, ha="center")
    legend = []
    for k, mp in enumerate(views):
        color = OKABE_ITO[k % len(OKABE_ITO)]
        ls = LINE_STYLES[k % len(LINE_STYLES)]
        marker = MARKERS[k % len(MARKERS)]
        values = [s.mean_emotion() for s in mp.stages] + [None] * (n - len(mp.stages))
        ys = [_score_y(top, OVERLAY_H, v) if v is not None else math.nan for v in values]
        sheet.line(xs, ys, color=color, lw=2.2, ls=ls, z=6 + k * 0.01, marker=marker, ms=8,
                   mfc=color, mec=WHITE, mew=1.2)
        name = " · ".join(p for p in (mp.group, mp.channel_focus,
                                      "" if customer_type else mp.customer_type) if p)
        legend.append((color, ls, marker, name or f"#{k + 1}"))
    y = label_y + lines_max * 11.5 + 14
    x = gx
    for color, ls, marker, name in legend:
        text = fonts.fit(name, x1 - gx - 40, 9)
        item_w = 38 + fonts.width(text, 9)
        if x + item_w > x1 and x > gx:
            x, y = gx, y + 18
        sheet.line([x, x + 30], [y + 6, y + 6], color=color, lw=2.2, ls=ls)
        sheet.line([x + 15], [y + 6], color=color, lw=0, marker=marker, ms=7, mfc=color,
                   mec=WHITE, mew=1.0, z=7)
        sheet.text(x + 36, y + 9.5, text, size=9, color=INK)
        x += item_w + 18
    y += 20
    return sheet, width, _signature(sheet, labels, x1, y)


# --------------------------------------------------------------------------------------------
# Participation by department
# --------------------------------------------------------------------------------------------

MAX_BARS = 40


def render_participation(counts: Mapping[str, int], title: str, fmt: str = "png", *,
                         dpi: float = DEFAULT_DPI, font: str = DEFAULT_FONT,
                         empty: str = "No participants yet", total: str | None = None,
                         footer: str = "journeybot") -> bytes:
    """Horizontal bars of participation by department (labels already translated).

    Bars are sorted from most to fewest, each labelled with its number. ``total`` is an
    optional subtitle template such as "{n} participants"; ``empty`` is drawn when there
    are no counts. At most 40 departments are drawn.
    """
    labels = MapLabels(font=_str(font) or DEFAULT_FONT, footer=_str(footer))
    return _guarded("participation chart", lambda: _layout_participation(
        counts, title, labels, empty, total), fmt, dpi, labels.font)


def _layout_participation(counts: Any, title: Any, labels: MapLabels, empty: str,
                          total: str | None) -> tuple[_Sheet, float, float]:
    fonts = _Fonts(labels.font)
    sheet = _Sheet(fonts)
    items: list[tuple[str, int]] = []
    try:
        pairs = list(counts.items()) if counts is not None else []
    except Exception:
        pairs = []
    for key, value in pairs:
        items.append((_str(key).strip() or "—", _int(value)))
    items.sort(key=lambda kv: (-kv[1], kv[0].lower()))
    items = items[:MAX_BARS]
    label_w, bar_w = 170.0, 340.0
    width = MARGIN * 2 + label_w + bar_w + 50
    x0, x1 = MARGIN, width - MARGIN
    y = MARGIN
    for i, line in enumerate(fonts.wrap(title, x1 - x0, 16, weight="bold", max_lines=2)):
        sheet.text(x0, y + 16 + i * 20, line, size=16, weight="bold", color=INK)
        y += 20
    y += 6
    if total:
        subtitle = _fmt(total, "{n}", n=sum(v for _, v in items))
        sheet.text(x0, y + 10, fonts.fit(subtitle, x1 - x0, 10), size=10, color=MUTED)
        y += 18
    y += 10
    if not items:
        y = _empty_panel(sheet, x0, x1, y, empty, height=80)
        return sheet, width, _signature(sheet, labels, x1, y + 10)
    top_value = max(v for _, v in items) or 1
    bx = x0 + label_w
    bar_h, gap = 16.0, 9.0
    start = y
    for name, value in items:
        lines = fonts.wrap(name, label_w - 12, 9.5, max_lines=2)
        row_h = max(bar_h, len(lines) * 11.5) + gap
        mid = y + row_h / 2
        for j, line in enumerate(lines):
            sheet.text(bx - 10, mid + 3.4 + (j - (len(lines) - 1) / 2) * 11.5, line, size=9.5,
                       color=INK, ha="right")
        length = bar_w * value / top_value
        if value:
            sheet.rect(bx, mid - bar_h / 2, max(length, 2), bar_h, fc="#0072B2", r=2, z=3)
        sheet.text(bx + length + 6, mid + 3.4, str(value), size=9.5, weight="bold",
                   color=INK)
        y += row_h
    sheet.line([bx, bx], [start, y], color=FAINT, lw=0.8, z=4)
    return sheet, width, _signature(sheet, labels, x1, y + 6)
