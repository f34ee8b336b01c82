"""Day 2 in Slack: inviting, reminding and thanking customers, the facilitator's progress
message with the web customers' links, and the emails (when SMTP_URL is set).

Everything here runs after the ack, on the worker pool (schedule effects, lazy listeners).
A customer is claimed in the database (invited_at / reminded_at set and committed) before
the message goes out, so a double click or a retried job never sends twice.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime, timezone
from email.message import EmailMessage
from urllib.parse import unquote, urlparse

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.customer_blocks import customer_name, invitation_blocks, progress_blocks
from bot.i18n import language_of, t
from bot.services import Services
from bot.text import escape
from storage.models import Customer
from workflows import customer_links
from workflows.schedule import facilitators
from workflows.validation import claim, progress, review_pages
from workflows.workshops import get_workshop

log = logging.getLogger(__name__)


def _now(services: Services) -> datetime:
    try:
        return services.clock()
    except Exception:  # noqa: BLE001 — a test clock that fails: the real time
        return datetime.now(timezone.utc)


# --- links and email ----------------------------------------------------------------------------


def review_url(services: Services, customer: Customer, team_id: str) -> str:
    """A fresh personal link for a web customer (the caller commits: the first link
    creates the customer's nonce)."""
    token = customer_links.issue(customer, team_id, services.settings.review_secret())
    return f"{services.settings.public_url}/review/{token}"


def send_email(services: Services, to: str, subject: str, body: str) -> bool:
    """Send one plain-text email through SMTP_URL (smtp:// with STARTTLS when offered, or
    smtps://). False (logged) if it could not be sent."""
    url = services.settings.smtp_url
    if not url:
        return False
    parts = urlparse(url)
    mail = EmailMessage()
    mail["From"] = services.settings.mail_from or f"journeybot@{parts.hostname or 'localhost'}"
    mail["To"] = to
    mail["Subject"] = subject
    mail.set_content(body)
    try:
        if parts.scheme == "smtps":
            server = smtplib.SMTP_SSL(parts.hostname, parts.port or 465, timeout=20)
        else:
            server = smtplib.SMTP(parts.hostname, parts.port or 25, timeout=20)
        with server:
            server.ehlo()
            if parts.scheme == "smtp" and server.has_extn("starttls"):
                server.starttls()
                server.ehlo()
            if parts.username:
                server.login(unquote(parts.username), unquote(parts.password or ""))
            server.send_message(mail)
        return True
    except (OSError, smtplib.SMTPException) as error:
        log.warning("email to a customer not sent: %s", error)
        return False


# --- invitations, reminders, thanks ---------------------------------------------------------------


def _dm(client: WebClient, user_id: str, text: str, blocks: list[dict]) -> bool:
    try:
        channel = client.conversations_open(users=user_id)["channel"]["id"]
        client.chat_postMessage(channel=channel, text=text, blocks=blocks)
        return True
    except SlackApiError as error:
        log.warning("customer DM not sent: %s", error.response.get("error"))
        return False


def _claim(services: Services, team_id: str, workshop_id: int, *, reminder: bool,
           ids: list[int] | None) -> list[int]:
    with services.db.writing(), services.uow(team_id) as uow:
        chosen = claim(uow, workshop_id, reminder=reminder, now=_now(services), ids=ids)
        uow.commit()
    return chosen


def _deliver(services: Services, client: WebClient, team_id: str, workshop_id: int,
             ids: list[int], *, reminder: bool) -> tuple[int, dict[int, str]]:
    """DM (Slack customers) or email (web customers, with SMTP) each customer. Returns
    (how many were reached, {web customer id: link} for those the facilitator must send)."""
    reached, links = 0, {}
    with services.uow(team_id) as uow:
        workshop = get_workshop(uow, workshop_id)
        name = workshop.name
        jobs = []
        for customer_id in ids:
            customer = uow.customers.get(customer_id)
            if customer is None:
                continue
            if customer.user_id:
                text, blocks = invitation_blocks(customer, name, review_pages(uow, customer),
                                                 reminder=reminder)
                jobs.append(("slack", customer.user_id, text, blocks))
            else:
                url = review_url(services, customer, team_id)
                lang = customer.language
                kind = "remind" if reminder else "invite"
                jobs.append(("email", customer.id, customer.email,
                             t(f"email.{kind}.subject", lang, name=name),
                             t(f"email.{kind}.body", lang, name=name, customer=customer.name,
                               url=url, days=customer_links.LINK_DAYS), url))
        uow.commit()  # the links' nonces
    for job in jobs:
        if job[0] == "slack":
            reached += _dm(client, *job[1:])
        elif services.settings.smtp_url and send_email(services, *job[2:5]):
            reached += 1
        else:
            links[job[1]] = job[5]
    return reached, links


def invite(services: Services, client: WebClient, team_id: str, workshop_id: int, *,
           ids: list[int] | None = None) -> tuple[int, dict[int, str]]:
    """Invite every customer not invited yet (or those of `ids`)."""
    claimed = _claim(services, team_id, workshop_id, reminder=False, ids=ids)
    return _deliver(services, client, team_id, workshop_id, claimed, reminder=False)


def remind(services: Services, client: WebClient, team_id: str, workshop_id: int, *,
           ids: list[int] | None = None) -> tuple[int, dict[int, str]]:
    """Remind the invited customers who have not finished (or those of `ids`)."""
    claimed = _claim(services, team_id, workshop_id, reminder=True, ids=ids)
    return _deliver(services, client, team_id, workshop_id, claimed, reminder=True)


def _facilitators(services: Services, team_id: str, workshop_id: int
                  ) -> list[tuple[str, str]]:
    with services.uow(team_id) as uow:
        workshop = get_workshop(uow, workshop_id)
        return [(p.user_id, language_of(p.locale, workshop.language))
                for p in facilitators(uow, workshop_id)]


def post_progress(services: Services, client: WebClient, team_id: str, workshop_id: int,
                  facilitator: str, lang: str, *, notice: str | None = None,
                  links: dict[int, str] | None = None, emailed: set[int] | None = None,
                  replace: tuple[str, str] | None = None) -> None:
    """The facilitator's progress message (DM), or `replace` = (channel, ts) updated."""
    with services.uow(team_id) as uow:
        workshop = get_workshop(uow, workshop_id)
        rows = progress(uow, workshop_id, facilitator)
        links = dict(links or {})
        for row in rows:  # every web customer's current link, ready to send
            c = row.customer
            revoked = c.link_nonce is not None and c.link_expires_at is None
            if not c.user_id and c.id not in links and not revoked:
                links[c.id] = review_url(services, c, team_id)
        blocks = progress_blocks(workshop, rows, lang, links=links, emailed=emailed,
                                 notice=notice)
        text = t("customers.progress", lang, name=escape(workshop.name),
                 done=sum(r.status == "done" for r in rows),
                 started=sum(r.status == "in_progress" for r in rows),
                 waiting=sum(r.status not in ("done", "in_progress") for r in rows))
        uow.commit()
    if replace is not None:
        try:
            client.chat_update(channel=replace[0], ts=replace[1], text=text, blocks=blocks)
            return
        except SlackApiError as error:
            log.info("progress message not updated: %s", error.response.get("error"))
    channel = client.conversations_open(users=facilitator)["channel"]["id"]
    client.chat_postMessage(channel=channel, text=text, blocks=blocks)


# --- schedule effects -------------------------------------------------------------------------


def invite_customers(event) -> None:
    """Validation starts: every customer not invited yet gets their DM (or email); the
    facilitators get the progress, with the links to send by hand if there is no SMTP."""
    services, client, team_id, workshop_id = (event.services, event.client, event.team_id,
                                              event.workshop_id)
    reached, links = invite(services, client, team_id, workshop_id)
    with services.uow(team_id) as uow:
        has_customers = bool(uow.customers.in_workshop(workshop_id))
        name = get_workshop(uow, workshop_id).name
    if not has_customers:
        return
    for user_id, lang in _facilitators(services, team_id, workshop_id):
        notice = t("customers.invited", lang, n=reached)
        if links:
            notice += " " + t("customers.links_to_send", lang, name=escape(name))
        post_progress(services, client, team_id, workshop_id, user_id, lang, notice=notice,
                      links=links)


def remind_customers(event) -> None:
    """The validation reminder: one automatic reminder to those who haven't finished."""
    remind(event.services, event.client, event.team_id, event.workshop_id)


def thank_customers(event) -> None:
    """Validation ends: thank those who answered, tell the others it is closed."""
    services, client = event.services, event.client
    with services.uow(event.team_id) as uow:
        workshop = get_workshop(uow, event.workshop_id)
        name = workshop.name
        answered = {a.customer_id for c in uow.customers.in_workshop(workshop.id)
                    for a in uow.customers.answers(c.id)[:1]}
        people = [(c.user_id, c.language, c.id in answered)
                  for c in uow.customers.in_workshop(workshop.id)
                  if c.user_id and c.invited_at is not None]
    for user_id, lang, did in people:
        text = t("creview.thanks" if did else "creview.closed_dm", lang, name=escape(name))
        _dm(client, user_id, text, [{"type": "section", "text": {"type": "mrkdwn",
                                                                  "text": text}}])


def install(services: Services) -> None:
    services.phase_effects.update({
        "invite_customers": invite_customers,
        "remind_customers": remind_customers,
        "thank_customers": thank_customers,
    })


__all__ = ["customer_name", "install", "invite", "post_progress", "remind", "review_url",
           "send_email"]
