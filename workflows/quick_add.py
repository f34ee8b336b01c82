"""Quick text for power users: `/journey add pain purchase: payment fails on mobile`.

Kind and stage names are recognised in French and English, case- and accent-insensitive,
fuzzily for stages (a typo or a prefix is enough). What cannot be understood is returned
as a partial result so the Slack layer opens the modal pre-filled instead of failing.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

KIND_ALIASES = {
    "step": ["step", "steps", "etape", "etapes", "stage step"],
    "touchpoint": ["touchpoint", "touch point", "tp", "point de contact", "contact"],
    "action": ["action", "customer action", "action client", "actions"],
    "emotion": ["emotion", "feeling", "ressenti", "emotions"],
    "pain": ["pain", "pain point", "painpoint", "friction", "point de douleur", "douleur",
             "irritant", "pb", "probleme", "problem"],
    "opportunity": ["opportunity", "opp", "idea", "opportunite", "idee", "piste"],
    "kpi": ["kpi", "indicator", "metric", "indicateur", "mesure"],
}
CHANNEL_ALIASES = {
    "website": ["website", "web", "site", "site web", "site internet"],
    "store": ["store", "shop", "boutique", "magasin"],
    "email": ["email", "e-mail", "mail", "courriel"],
    "sms": ["sms", "text message"],
    "social": ["social", "social media", "reseaux sociaux", "reseaux", "instagram"],
    "phone": ["phone", "telephone", "call", "appel"],
    "chat": ["chat", "live chat", "chatbot"],
    "ads": ["ads", "ad", "advertising", "publicite", "pub"],
    "reviews": ["reviews", "avis", "avis clients"],
    "app": ["app", "application", "mobile app", "appli"],
    "sales_rep": ["sales rep", "commercial", "vendeur", "conseiller"],
    "support": ["support", "sav", "service client"],
}
_SCORE = re.compile(r"^([+-]?[0-2])$")


@lru_cache(maxsize=4096)  # stage and kind names come back on every quick-add
def fold(text: str) -> str:
    """Lowercase, accents removed, spaces collapsed."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[\s_]+", " ", text.lower()).strip()


@dataclass(frozen=True)
class QuickAdd:
    kind: str | None
    stage_id: int | None
    text: str
    channel: str | None = None
    score: int | None = None

    @property
    def complete(self) -> bool:
        if not (self.kind and self.stage_id is not None and self.text):
            return False
        if self.kind == "touchpoint":
            return self.channel is not None
        return self.score is not None if self.kind == "emotion" else True


_AliasIndex = dict[str, list[tuple[tuple[str, ...], str]]]


def _alias_index(aliases: Mapping[str, list[str]]) -> _AliasIndex:
    """Aliases by their first word, longest first: a prefix is found in one lookup."""
    index: _AliasIndex = {}
    for key, names in aliases.items():
        for name in names:
            words = tuple(name.split())
            index.setdefault(words[0], []).append((words, key))
    for candidates in index.values():
        candidates.sort(key=lambda c: -len(c[0]))
    return index


_KINDS = _alias_index(KIND_ALIASES)
_CHANNELS = _alias_index(CHANNEL_ALIASES)


def _longest_prefix(words: list[str], index: _AliasIndex) -> tuple[str | None, int]:
    """The alias key the words start with (the longest alias wins) and its length in words."""
    for names, key in index.get(words[0], ()) if words else ():
        if tuple(words[:len(names)]) == names:
            return key, len(names)
    return None, 0


def _find_channel(words: list[str]) -> tuple[str | None, list[str]]:
    for start in range(len(words)):
        key, size = _longest_prefix(words[start:], _CHANNELS)
        if key:
            return key, words[:start] + words[start + size:]
    return None, words


class StageNames(dict):
    """Every name each stage of a board answers to, in board order ({stage id: [names]}),
    remembering what each typed stage name matched: a burst of quick-adds names the same
    few stages again and again. Not to be changed once built (build a new one)."""

    __slots__ = ("heads", "matches")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.matches: dict[str, int | None] = {}
        # What each line's head (`KIND STAGE [CHANNEL] [SCORE]`, before the colon) meant.
        self.heads: dict[str, tuple[str | None, int | None, str | None, int | None]] = {}


def _recall(memo: dict, key: str, compute, stage_names: StageNames):
    """`compute(key, stage_names)`, remembered in one of the board's memos."""
    try:
        return memo[key]
    except KeyError:
        if len(memo) >= 256:  # typos are many; a board's kinds and names are few
            memo.clear()
        found = memo[key] = compute(key, stage_names)
        return found


def match_stage(query: str, stage_names: Mapping[int, Sequence[str]]) -> int | None:
    """Stage id for a typed name: its position number, an exact or prefix match, or the
    closest name (difflib); None if nothing is close enough. Remembered per `StageNames`."""
    if isinstance(stage_names, StageNames):
        return _recall(stage_names.matches, query, _match_stage, stage_names)
    return _match_stage(query, stage_names)


def _match_stage(query: str, stage_names: Mapping[int, Sequence[str]]) -> int | None:
    query = fold(query)
    if not query:
        return None
    ids = list(stage_names)
    if query.isdigit() and 1 <= int(query) <= len(ids):
        return ids[int(query) - 1]
    folded = [(sid, fold(name)) for sid in ids for name in stage_names[sid] if name]
    for sid, name in folded:
        if name == query:
            return sid
    prefixed = {sid for sid, name in folded if name.startswith(query) and len(query) >= 3}
    if len(prefixed) == 1:
        return prefixed.pop()
    close = difflib.get_close_matches(query, [name for _, name in folded], n=1, cutoff=0.7)
    if close:
        return next(sid for sid, name in folded if name == close[0])
    return None


def _parse_head(head: str, stage_names: Mapping[int, Sequence[str]]
                ) -> tuple[str | None, int | None, str | None, int | None]:
    """`KIND STAGE [CHANNEL] [SCORE]` → (kind, stage id, channel, score)."""
    words = fold(head).split()
    kind, size = _longest_prefix(words, _KINDS)
    rest = words[size:]
    score = None
    if kind == "emotion":  # `KIND STAGE [SCORE]`: the last score-like word (a stage may be "2")
        for n in range(len(rest) - 1, -1, -1):
            if _SCORE.match(rest[n]):
                score = int(rest.pop(n))
                break
    channel = None
    if kind == "touchpoint":
        channel, rest = _find_channel(rest)
    return kind, match_stage(" ".join(rest), stage_names), channel, score


def parse(text: str, stage_names: Mapping[int, Sequence[str]]) -> QuickAdd:
    """Parse `KIND STAGE [CHANNEL] [SCORE]: TEXT`. Stage names: every name (both languages)
    each stage answers to, in board order."""
    head, colon, body = (text or "").partition(":")
    if not colon:
        words = fold(head).split()
        kind, size = _longest_prefix(words, _KINDS)
        original = head.split()
        return QuickAdd(kind, None, " ".join(original[size:]).strip() if kind else head.strip())
    kind, stage_id, channel, score = (
        _recall(stage_names.heads, head, _parse_head, stage_names)
        if isinstance(stage_names, StageNames) else _parse_head(head, stage_names))
    body = body.strip()
    if kind == "emotion" and score is None:
        match = re.match(r"^([+-]?[0-2])\s+(.*)$", body, re.S)
        if match:
            score, body = int(match.group(1)), match.group(2).strip()
    return QuickAdd(kind, stage_id, body, channel, score)
