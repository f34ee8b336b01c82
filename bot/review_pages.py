"""The review web page for customers without Slack (day 2): `GET/POST /review/<token>`.

A customer opens the personal link the bot gave them (``workflows.customer_links``: signed,
expiring, single-customer, revocable) and goes through the same review as Slack customers
(``workflows.validation``): one page per stage (or part of a stage) of each map of their
customer type, "Yes, that's me" / "Not quite" (with a correction) / "Never" for every step
and touchpoint, what is missing in the stage and how they felt, Previous / Save and
continue, "Page 3 of 10", then a thank-you page. Answers are saved page by page.

Plain HTML forms, no JavaScript: everything works with the keyboard and on a phone; every
control has a label, errors are shown inline (``aria-invalid``, ``aria-describedby``) and
in a summary at the top with links to the fields; text and buttons have at least 4.5:1
contrast; focus is always visible. All text comes from the i18n catalog in the customer's
language; everything anyone typed is HTML-escaped. Authors are never shown.

Security: the token in the path is the credential. Its signature names the workspace and
the customer; the customer's current nonce revokes older links. A bad signature, a page or
post-it that is not the customer's, or a form sent from another origin is refused with a
page that reveals nothing, and logged. Bodies are limited to ``MAX_BODY`` bytes. Every
answer carries ``Content-Security-Policy`` (no scripts, a per-response style nonce),
``Referrer-Policy: no-referrer`` (the token is in the URL), ``Cache-Control: no-store``.
"""

from __future__ import annotations

import html
import logging
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import parse_qs, urlsplit

from bot.i18n import SUPPORTED_LANGUAGES, has, t
from bot.services import Services
from workflows import customer_links
from workflows.board import MAX_TEXT, SCORES
from workflows.problems import Forbidden, Invalid, NotFound, Problem, WorkshopError
from workflows.schedule import gate
from workflows.validation import (
    VERDICTS,
    PageAnswers,
    ReviewPage,
    page_of,
    resume_at,
    review_pages,
    save_page,
)

log = logging.getLogger(__name__)

PREFIX = "/review/"
MAX_BODY = 64 * 1024
MAX_FIELDS = 400
TOKEN = re.compile(r"^[A-Za-z0-9_-]{8,400}\.[A-Za-z0-9_-]{16,100}$")
FIELD = re.compile(r"^(verdict|correction)_(.*)$")
FEELING_WORDS = {-2: "m2", -1: "m1", 0: "0", 1: "p1", 2: "p2"}
STATUS = {200: "200 OK", 303: "303 See Other", 400: "400 Bad Request", 403: "403 Forbidden",
          405: "405 Method Not Allowed", 410: "410 Gone", 413: "413 Content Too Large",
          415: "415 Unsupported Media Type", 500: "500 Internal Server Error"}
REFUSAL_STATUS = {"link_invalid": 403, "not_your_map": 403, "bad_origin": 403,
                  "link_expired": 410, "link_revoked": 410, "validation_not_open": 403,
                  "validation_closed": 403, "workshop_done": 403, "nothing_to_review": 200,
                  "too_large": 413, "bad_form": 415, "generic": 500}
FORGERIES = ("link_invalid", "not_your_map", "bad_origin")
_EPOCH = datetime(1970, 1, 2, tzinfo=timezone.utc)


@dataclass
class Response:
    status: int
    body: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)


# --- HTML ---------------------------------------------------------------------------------

CSS = """
*{box-sizing:border-box}
html{font-size:112.5%}
body{margin:0;background:#fff;color:#1a1a1a;font-family:system-ui,-apple-system,"Segoe UI",
Roboto,Helvetica,Arial,sans-serif;line-height:1.5}
main{max-width:40rem;margin:0 auto;padding:1rem 1rem 3rem}
h1{font-size:1.5rem;line-height:1.25;margin:.25rem 0 1rem}
h2{font-size:1.15rem;margin:0 0 .5rem}
p{margin:.5rem 0}
.eyebrow{color:#374151;font-weight:600;margin:0}
.progress{color:#374151;margin:0 0 .25rem}
progress{display:block;width:100%;height:.6rem;margin:0 0 1rem;accent-color:#1d4ed8}
fieldset{border:1px solid #6b7280;border-radius:.5rem;margin:0 0 1rem;padding:.75rem 1rem 1rem}
legend{font-weight:700;padding:0 .25rem;max-width:100%;overflow-wrap:anywhere}
.kind{display:block;font-weight:600;font-size:.85rem;color:#374151;text-transform:uppercase;
letter-spacing:.03em}
.channel{display:block;font-weight:400;color:#374151}
.choice{display:flex;align-items:center;gap:.75rem;min-height:48px;padding:.5rem .75rem;
margin:.35rem 0;border:1px solid #6b7280;border-radius:.5rem;cursor:pointer}
.choice input{width:1.4rem;height:1.4rem;margin:0;accent-color:#1d4ed8;flex:none}
.choice:has(input:checked){border:2px solid #1d4ed8;background:#eff6ff}
label.field{display:block;font-weight:600;margin:.75rem 0 .25rem}
.hint{color:#374151;font-size:.9rem;margin:0 0 .25rem}
textarea{display:block;width:100%;min-height:5rem;font:inherit;color:#1a1a1a;background:#fff;
padding:.5rem;border:2px solid #4b5563;border-radius:.375rem}
textarea[aria-invalid=true],fieldset[aria-invalid=true]{border-color:#b91c1c}
.error{color:#b91c1c;font-weight:700;margin:.25rem 0}
.summary{border:3px solid #b91c1c;border-radius:.5rem;padding:.75rem 1rem;margin:0 0 1rem}
.summary a{color:#b91c1c;font-weight:700}
.actions{display:flex;flex-wrap:wrap;gap:.75rem;justify-content:space-between;margin-top:1.5rem}
.button{display:inline-flex;align-items:center;justify-content:center;min-height:48px;
min-width:8rem;padding:.6rem 1.2rem;font:inherit;font-weight:700;border-radius:.5rem;
border:2px solid #1d4ed8;background:#1d4ed8;color:#fff;text-decoration:none;cursor:pointer}
.button.secondary{background:#fff;color:#1d4ed8}
.button:hover{background:#1e3a8a;border-color:#1e3a8a;color:#fff}
a{color:#1d4ed8}
:focus-visible{outline:3px solid #b45309;outline-offset:3px}
.choice:focus-within{outline:3px solid #b45309;outline-offset:2px}
.notice{border-left:6px solid #1d4ed8;background:#eff6ff;padding:.75rem 1rem;margin:1rem 0}
.kept{white-space:pre-wrap;border:1px solid #6b7280;border-radius:.375rem;padding:.5rem}
.empty{color:#374151;font-style:italic}
.other-language{border-top:1px solid #6b7280;margin-top:2rem;padding-top:1rem}
""".replace("\n", "")


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def document(lang: str, title: str, body: str, nonce: str) -> str:
    return (f'<!doctype html>\n<html lang="{esc(lang)}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<meta name="robots" content="noindex, nofollow">'
            f'<title>{esc(title)}</title><style nonce="{nonce}">{CSS}</style></head>'
            f'<body><main id="main">{body}</main></body></html>\n')


def stage_title(page: ReviewPage, lang: str) -> str:
    if page.stage_name:
        return page.stage_name
    key = f"stage.{page.stage_key}"
    return t(key, lang) if has(key) else (page.stage_key or "")


def channel_title(channel: str | None, lang: str) -> str:
    if not channel:
        return ""
    key = f"channel.{channel}"
    return t(key, lang) if has(key) else channel


def map_title(page: ReviewPage, lang: str) -> str:
    focus = page.channel_focus
    if focus:
        key = f"focus.{focus}"
        return t("webreview.map_focus", lang, customer_type=page.customer_type or "",
                 focus=t(key, lang) if has(key) else focus)
    return t("webreview.map", lang, customer_type=page.customer_type or "")


@dataclass
class Values:
    """What the form shows: the saved answers, or what the customer just sent."""

    verdicts: dict[int, str | None]
    corrections: dict[int, str | None]
    missing: str | None
    feeling: str | None          # "-2".."2" or "" / None
    feeling_text: str | None

    @classmethod
    def saved(cls, page: ReviewPage) -> Values:
        return cls({i.post_it_id: i.verdict for i in page.items},
                   {i.post_it_id: i.correction for i in page.items}, page.missing,
                   None if page.feeling is None else str(page.feeling), page.feeling_text)


def _error(errors: dict[str, str], key: str) -> tuple[str, str]:
    """(attributes for the control, the inline message) of field `key`."""
    if key not in errors:
        return "", ""
    return (f' aria-invalid="true" aria-describedby="{key}-error"',
            f'<p class="error" id="{key}-error">{esc(errors[key])}</p>')


def _textarea(key: str, label: str, value: str | None, errors: dict[str, str],
              hint: str | None = None) -> str:
    attrs, message = _error(errors, key)
    hint_html = ""
    if hint:
        hint_html = f'<p class="hint" id="{key}-hint">{esc(hint)}</p>'
        if attrs:
            attrs = attrs.replace(f'aria-describedby="{key}-error"',
                                  f'aria-describedby="{key}-hint {key}-error"')
        else:
            attrs = f' aria-describedby="{key}-hint"'
    return (f'<label class="field" for="{key}">{esc(label)}</label>{hint_html}{message}'
            f'<textarea id="{key}" name="{key}" rows="3" maxlength="{MAX_TEXT}"{attrs}>'
            f'{esc(value or "")}</textarea>')


def _item(item, values: Values, errors: dict[str, str], lang: str) -> str:
    pid = item.post_it_id
    chosen = values.verdicts.get(pid)
    channel = ""
    if item.kind == "touchpoint" and item.channel:
        channel = (f'<span class="channel">'
                   f'{esc(t("webreview.channel", lang, channel=channel_title(item.channel, lang)))}'
                   '</span>')
    choices = "".join(
        f'<label class="choice"><input type="radio" name="verdict_{pid}" value="{v}"'
        f' id="verdict_{pid}_{v}"{" checked" if chosen == v else ""}>'
        f'<span>{esc(t(f"webreview.verdict.{v}", lang))}</span></label>' for v in VERDICTS)
    return (f'<fieldset class="item" id="item_{pid}"><legend>'
            f'<span class="kind">{esc(t(f"kind.{item.kind}", lang))}</span>'
            f'<span class="text">{esc(item.text)}</span>{channel}</legend>{choices}'
            + _textarea(f"correction_{pid}", t("webreview.correction", lang),
                        values.corrections.get(pid), errors,
                        t("webreview.correction.hint", lang))
            + "</fieldset>")


def _feeling(values: Values, errors: dict[str, str], lang: str) -> str:
    attrs, message = _error(errors, "feeling")
    chosen = values.feeling if values.feeling not in (None, "") else ""
    options = [(str(score), f"webreview.feeling.{FEELING_WORDS[score]}") for score in
               sorted(SCORES)] + [("", "webreview.feeling.none")]
    radios = []
    for n, (value, key) in enumerate(options):
        ident = "feeling" if n == 0 else f"feeling_{n}"
        label = t(key, lang)
        if value:
            label = f"{label} ({int(value):+d})".replace("-", "\u2212") if int(value) \
                else f"{label} (0)"
        radios.append(f'<label class="choice"><input type="radio" name="feeling" id="{ident}"'
                      f' value="{value}"{" checked" if chosen == value else ""}>'
                      f'<span>{esc(label)}</span></label>')
    return (f'<fieldset class="feeling"{attrs}><legend>{esc(t("webreview.feeling", lang))}'
            f'</legend>{message}{"".join(radios)}'
            + _textarea("feeling_text", t("webreview.feeling_text", lang), values.feeling_text,
                        errors)
            + "</fieldset>")


def _summary(errors: dict[str, str], lang: str) -> str:
    if not errors:
        return ""
    links = "".join(f'<li><a href="#{esc(key)}">{esc(message)}</a></li>'
                    for key, message in errors.items())
    return (f'<div class="summary" role="alert" aria-labelledby="summary-title" tabindex="-1"'
            f' id="error-summary" autofocus><h2 id="summary-title">'
            f'{esc(t("webreview.errors.title", lang))}</h2>'
            f'<p>{esc(t("webreview.errors.intro", lang))}</p><ul>{links}</ul></div>')


def page_html(page: ReviewPage, base: str, lang: str, nonce: str, *,
              values: Values | None = None, errors: dict[str, str] | None = None) -> str:
    values = values or Values.saved(page)
    errors = errors or {}
    number = page.index + 1
    stage = stage_title(page, lang)
    if page.parts > 1:
        stage = f"{stage} {t('webreview.part', lang, part=page.part, parts=page.parts)}"
    body = [
        _summary(errors, lang),
        f'<p class="eyebrow">{esc(t("webreview.title", lang))}</p>',
        f'<p class="progress" id="progress">'
        f'{esc(t("webreview.progress", lang, page=number, total=page.total))}</p>',
        f'<progress max="{page.total}" value="{page.index}" aria-hidden="true"></progress>',
        f'<p class="eyebrow">{esc(map_title(page, lang))}</p>',
        f'<h1>{esc(t("webreview.stage", lang, stage=stage))}</h1>',
    ]
    if page.index == 0 and not errors:
        body.append(f'<p>{esc(t("webreview.intro", lang))}</p>')
    body.append(f'<form method="post" action="{esc(base)}" novalidate>'
                f'<input type="hidden" name="page" value="{number}">')
    if page.items:
        body.extend(_item(item, values, errors, lang) for item in page.items)
    else:
        body.append(f'<p class="empty">{esc(t("webreview.empty_stage", lang))}</p>')
    if page.asks_stage:
        body.append(_textarea("missing", t("webreview.missing", lang), values.missing, errors,
                              t("webreview.missing.hint", lang)))
        body.append(_feeling(values, errors, lang))
    previous = (f'<a class="button secondary" href="{esc(base)}?page={number - 1}">'
                f'{esc(t("webreview.previous", lang))}</a>' if page.index > 0 else "<span></span>")
    label = t("webreview.finish" if page.last else "webreview.save", lang)
    body.append(f'<div class="actions">{previous}<button class="button" type="submit">'
                f'{esc(label)}</button></div></form>')
    title = t("webreview.progress", lang, page=number, total=page.total)
    prefix = t("webreview.errors.title", lang) + " — " if errors else ""
    return document(lang, f"{prefix}{title} — {t('webreview.title', lang)}",
                    "".join(body), nonce)


def thanks_html(base: str, lang: str, nonce: str) -> str:
    body = (f'<p class="eyebrow">{esc(t("webreview.title", lang))}</p>'
            f'<h1>{esc(t("webreview.thanks.title", lang))}</h1>'
            f'<p>{esc(t("webreview.thanks.text", lang))}</p>'
            f'<p><a class="button secondary" href="{esc(base)}?page=1">'
            f'{esc(t("webreview.thanks.again", lang))}</a></p>')
    return document(lang, t("webreview.thanks.title", lang), body, nonce)


def refusal_html(code: str, langs: Iterable[str], nonce: str, *, base: str | None = None,
                 kept: list[str] | None = None) -> str:
    """A clear page saying why, in the customer's language (all languages, preferred first,
    when the customer is unknown)."""
    langs = list(langs)
    code = code if has(f"webreview.refused.{code}.title") else "generic"
    sections = []
    for n, lang in enumerate(langs):
        heading = "h1" if n == 0 else "h2"
        part = (f'<{heading}>{esc(t(f"webreview.refused.{code}.title", lang))}</{heading}>'
                f'<p>{esc(t(f"webreview.refused.{code}.text", lang))}</p>')
        if kept:
            part += (f'<div class="notice"><p>{esc(t("webreview.kept", lang))}</p>'
                     + "".join(f'<p class="kept">{esc(text)}</p>' for text in kept) + "</div>")
        if base:
            part += (f'<p><a href="{esc(base)}">{esc(t("webreview.back_to_start", lang))}'
                     '</a></p>')
        sections.append(part if n == 0 else
                        f'<section class="other-language" lang="{esc(lang)}">{part}</section>')
    return document(langs[0], t(f"webreview.refused.{code}.title", langs[0]),
                    "".join(sections), nonce)


# --- the form -----------------------------------------------------------------------------


class Forged(Exception):
    """A field the page never offered: only a forged request sends it."""


def parse_answers(form: dict[str, list[str]]) -> tuple[PageAnswers, Values]:
    """The page's answers from a submitted form, and the values to show again. A field name
    naming something that is not a post-it id raises ``Forged``; a correction typed with no
    answer picked counts as "Not quite"."""
    def one(name: str) -> str | None:
        found = form.get(name)
        return found[-1] if found else None

    ids: set[int] = set()
    for name in form:
        match = FIELD.match(name)
        if match:
            if not match[2].isdigit() or len(match[2]) > 12:
                raise Forged(name)
            ids.add(int(match[2]))
    verdicts: dict[int, tuple[str | None, str | None]] = {}
    shown_verdicts: dict[int, str | None] = {}
    shown_corrections: dict[int, str | None] = {}
    for pid in sorted(ids):
        verdict = one(f"verdict_{pid}") or None
        correction = one(f"correction_{pid}")
        if verdict is None and (correction or "").strip():
            verdict = "not_quite"
        verdicts[pid] = (verdict, correction)
        shown_verdicts[pid], shown_corrections[pid] = verdict, correction
    feeling_raw = (one("feeling") or "").strip()
    feeling: int | None = None
    if feeling_raw:
        try:
            feeling = int(feeling_raw)
        except ValueError:
            feeling = 99  # out of range: the workflow says so inline
    answers = PageAnswers(verdicts, one("missing"), feeling, one("feeling_text"))
    values = Values(shown_verdicts, shown_corrections, one("missing"),
                    feeling_raw if feeling is not None and feeling in SCORES else "",
                    one("feeling_text"))
    return answers, values


def typed_texts(answers: PageAnswers) -> list[str]:
    texts = [c for _v, c in answers.verdicts.values()]
    texts += [answers.missing, answers.feeling_text]
    return [text.strip() for text in texts if text and text.strip()]


def problem_text(problem: Problem, lang: str) -> str:
    key = f"webreview.problem.{problem.code}"
    if has(key):
        return t(key, lang, **problem.params)
    key = f"problem.{problem.code}"
    return t(key, lang, **problem.params) if has(key) else t("webreview.problem.generic", lang)


def preferred_languages(accept: str | None, fallback: str) -> list[str]:
    """Supported languages, the browser's preferred first (Accept-Language)."""
    ranked: list[tuple[float, int, str]] = []
    for n, part in enumerate((accept or "").split(",")):
        tag, _, params = part.strip().partition(";")
        code = tag.strip().split("-")[0].lower()
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if code in SUPPORTED_LANGUAGES and quality > 0:
            ranked.append((-quality, n, code))
    order: list[str] = []
    for lang in [code for _q, _n, code in sorted(ranked)] + [fallback, *SUPPORTED_LANGUAGES]:
        if lang not in order:
            order.append(lang)
    return order


# --- the pages ----------------------------------------------------------------------------


class Refused(Exception):
    def __init__(self, code: str, lang: str | None = None, *, base: str | None = None,
                 kept: list[str] | None = None) -> None:
        super().__init__(code)
        self.code, self.lang, self.base, self.kept = code, lang, base, kept


@dataclass
class Visit:
    """One request for one customer's pages."""

    token: str
    team_id: str
    customer_id: int
    lang: str
    base: str


class ReviewPages:
    """The WSGI handler of ``/review/<token>``. `client`: a Slack WebClient to refresh the
    group's board after a customer saved (None: the board catches up at its next change)."""

    def __init__(self, services: Services, client=None,
                 on_saved: Callable[[str, int], None] | None = None) -> None:
        self.services = services
        self.client = client
        self.on_saved = on_saved

    # WSGI
    def __call__(self, environ, start_response):
        try:
            response = self.handle(environ)
        except Exception:  # never a stack trace, never the token in a log
            log.exception("review page failed")
            response = self.refusal(Refused("generic"), environ)
        nonce_headers = [h for h in response.headers if h[0] == "X-Nonce"]
        headers = [h for h in response.headers if h[0] != "X-Nonce"]
        nonce = nonce_headers[0][1] if nonce_headers else secrets.token_urlsafe(12)
        body = response.body.encode("utf-8")
        headers += [
            ("Content-Security-Policy",
             f"default-src 'none'; style-src 'nonce-{nonce}'; form-action 'self'; "
             "base-uri 'none'; frame-ancestors 'none'"),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "no-referrer"),
            ("Cache-Control", "no-store"),
            ("X-Frame-Options", "DENY"),
            ("Content-Length", str(len(body))),
        ]
        if response.body:
            headers.append(("Content-Type", "text/html; charset=utf-8"))
        start_response(STATUS[response.status], headers)
        return [body] if environ.get("REQUEST_METHOD") != "HEAD" else [b""]

    def handle(self, environ) -> Response:
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in ("GET", "HEAD", "POST"):
            response = self.refusal(Refused("generic"), environ)
            response.status = 405
            response.headers.append(("Allow", "GET, HEAD, POST"))
            return response
        token = (environ.get("PATH_INFO") or "")[len(PREFIX):].rstrip("/")
        try:
            visit = self.visit(environ, token)
            if method == "POST":
                return self.post(environ, visit)
            return self.get(environ, visit)
        except Refused as refused:
            return self.refusal(refused, environ)

    # who is asking
    def visit(self, environ, token: str) -> Visit:
        base = f"{environ.get('SCRIPT_NAME', '')}{PREFIX}{token}"
        secret = self.services.settings.review_secret()
        if not TOKEN.match(token):
            self.warn("link_invalid", environ, "malformed token")
            raise Refused("link_invalid")
        try:
            # the signature first (any date), so an expired link still gets its language
            claim = customer_links.read(token, secret, now=_EPOCH)
        except Forbidden as error:
            self.warn(error.code, environ, "bad signature")
            raise Refused("link_invalid") from None
        with self.services.uow(claim.team_id) as uow:
            customer = uow.customers.get(claim.customer_id)
            lang = customer.language if customer and customer.language in \
                SUPPORTED_LANGUAGES else None
            if claim.expires <= self.services.clock():
                raise Refused("link_expired", lang)
            try:
                customer_links.check(customer, claim)
            except Forbidden as error:
                if error.code != "link_revoked":
                    self.warn(error.code, environ, f"customer {claim.customer_id} unknown")
                raise Refused(error.code, lang) from None
        return Visit(token, claim.team_id, claim.customer_id, lang or "en", base)

    def warn(self, code: str, environ, why: str, customer_id: int | None = None) -> None:
        log.warning("review link refused (%s: %s)%s from %s", code, why,
                    f" for customer {customer_id}" if customer_id else "",
                    environ.get("REMOTE_ADDR", "?"))

    def index_of(self, environ, visit: Visit, raw: str | None) -> int | None:
        if raw is None or raw == "":
            return None
        if not raw.isdigit() or len(raw) > 6:
            self.warn("not_your_map", environ, "bad page number", visit.customer_id)
            raise Refused("not_your_map", visit.lang, base=visit.base)
        return int(raw) - 1

    def _customer(self, uow, visit: Visit):
        customer = uow.customers.get(visit.customer_id)
        if customer is None:
            raise Refused("link_invalid")
        return customer

    # GET
    def get(self, environ, visit: Visit) -> Response:
        query = parse_qs(environ.get("QUERY_STRING", ""), max_num_fields=20)
        nonce = secrets.token_urlsafe(12)
        with self.services.uow(visit.team_id) as uow:
            customer = self._customer(uow, visit)
            if "done" in query and customer.done_at is not None:
                return self.html(200, thanks_html(visit.base, visit.lang, nonce), nonce,
                                 visit.lang)
            index = self.index_of(environ, visit, (query.get("page") or [None])[-1])
            try:
                gate(uow, customer.workshop_id, "customer_answer")
                if not review_pages(uow, customer):
                    raise NotFound("nothing_to_review")
                if index is None:
                    index = resume_at(uow, customer)
                page = page_of(uow, customer, index)
            except WorkshopError as error:
                raise self.refused(error, environ, visit) from None
        return self.html(200, page_html(page, visit.base, visit.lang, nonce), nonce, visit.lang)

    # POST
    def post(self, environ, visit: Visit) -> Response:
        self.check_origin(environ, visit)
        form = self.read_form(environ, visit)
        index = self.index_of(environ, visit, (form.get("page") or [None])[-1])
        if index is None:
            self.warn("not_your_map", environ, "no page number", visit.customer_id)
            raise Refused("not_your_map", visit.lang, base=visit.base)
        try:
            answers, values = parse_answers(form)
        except Forged as forged:
            self.warn("not_your_map", environ, f"forged field {str(forged)[:40]!r}",
                      visit.customer_id)
            raise Refused("not_your_map", visit.lang, base=visit.base) from None
        nonce = secrets.token_urlsafe(12)
        try:
            with self.services.db.writing(), self.services.uow(visit.team_id) as uow:
                customer = self._customer(uow, visit)
                following = save_page(uow, customer, index, answers, now=self.services.clock())
                group_id = page_of(uow, customer, index).group_id
                uow.commit()
        except Invalid as invalid:
            errors = {key: problem_text(problem, visit.lang)
                      for key, problem in invalid.fields.items()}
            with self.services.uow(visit.team_id) as uow:
                page = page_of(uow, self._customer(uow, visit), index)
            return self.html(400, page_html(page, visit.base, visit.lang, nonce, values=values,
                                            errors=errors), nonce, visit.lang)
        except WorkshopError as error:
            raise self.refused(error, environ, visit, kept=typed_texts(answers)) from None
        self.saved(visit.team_id, group_id)
        location = (f"{visit.base}?done=1" if following is None
                    else f"{visit.base}?page={following + 1}")
        return Response(303, "", [("Location", location)])

    def saved(self, team_id: str, group_id: int) -> None:
        if self.on_saved is not None:
            self.on_saved(team_id, group_id)
        if self.client is not None:
            try:
                self.services.refresh_board(self.client, team_id, group_id)
            except Exception:  # the answers are saved; the board catches up later
                log.exception("board refresh after a customer's answers failed")

    def check_origin(self, environ, visit: Visit) -> None:
        origin = environ.get("HTTP_ORIGIN")
        if not origin or origin == "null":
            return  # browsers send "null" under Referrer-Policy: no-referrer
        host = environ.get("HTTP_HOST") or ""
        if urlsplit(origin).netloc.lower() != host.lower():
            self.warn("bad_origin", environ, f"origin {origin[:80]!r}", visit.customer_id)
            raise Refused("bad_origin", visit.lang)

    def read_form(self, environ, visit: Visit) -> dict[str, list[str]]:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = MAX_BODY + 1
        if length > MAX_BODY or length < 0:
            raise Refused("too_large", visit.lang)
        kind = (environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
        if kind != "application/x-www-form-urlencoded":
            raise Refused("bad_form", visit.lang)
        raw = environ["wsgi.input"].read(length) if length else b""
        try:
            return parse_qs(raw.decode("utf-8", errors="replace"), keep_blank_values=True,
                            max_num_fields=MAX_FIELDS)
        except ValueError:
            raise Refused("too_large", visit.lang) from None

    def refused(self, error: WorkshopError, environ, visit: Visit, *,
                kept: list[str] | None = None) -> Refused:
        if error.code in FORGERIES:
            self.warn(error.code, environ, "page or post-it not theirs", visit.customer_id)
        closed = error.code in ("validation_closed", "validation_not_open", "workshop_done")
        return Refused(error.code, visit.lang, base=None if closed else visit.base,
                       kept=kept if closed else None)

    # responses
    def html(self, status: int, body: str, nonce: str, lang: str) -> Response:
        return Response(status, body, [("X-Nonce", nonce), ("Content-Language", lang)])

    def refusal(self, refused: Refused, environ) -> Response:
        nonce = secrets.token_urlsafe(12)
        langs = [refused.lang] if refused.lang else preferred_languages(
            environ.get("HTTP_ACCEPT_LANGUAGE"), self.services.settings.default_language)
        status = REFUSAL_STATUS.get(refused.code, 403)
        return self.html(status, refusal_html(refused.code, langs, nonce, base=refused.base,
                                              kept=refused.kept), nonce, langs[0])


def review_only_wsgi(services: Services, client=None):
    """A WSGI app serving only ``/review/<token>`` and ``/healthz``: in Socket Mode the Slack
    events never come over HTTP, yet customers without Slack still need their page (and
    ``/slack/events`` must not be exposed with a signing secret nobody checks)."""
    pages = ReviewPages(services, client=client)

    def wsgi(environ, start_response):
        path = environ.get("PATH_INFO") or ""
        if path.startswith(PREFIX):
            return pages(environ, start_response)
        if path == "/healthz" and environ.get("REQUEST_METHOD") == "GET":
            start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"ok\n"]
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"not found\n"]

    return wsgi
