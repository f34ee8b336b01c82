"""The demo's day-2 validation chapter: the facilitator registers three Slack customers and
two people without Slack, validation opens (each Slack customer gets the hypothetical map
of their customer type and **Review**; the facilitator gets the web customers' links), the
customers review page by page (confirm, correct, "never", missing steps, feelings; a
correction without text is refused inline), a customer's forged click is refused, the board
shows what they said, and in consolidation a group accepts or rejects the corrections.

`play_validation(slack, story)` is called by `bot/demo.py` after the maps chapter, in the
day-1 wrap-up; it ends in consolidation, with every proposal of the first group decided.
The two web customers answer on their review page (`/review/<token>`, bot/review_pages.py)
through real HTTP form posts, as a phone's browser would; the first page each of them saw
is saved beside the demo's files.
"""

from __future__ import annotations

import re
import urllib.parse
import urllib.request

from bot.offline import OfflineSlack
from bot.transcript import unslack
from storage.models import Role, WorkGroup
from workflows.schedule import run_of

NEXT = "schedule.next"
SLACK_CUSTOMERS = [  # (user id, name, locale, review language)
    ("U0CLIA", "Inès (cliente)", "fr-FR", "fr"),
    ("U0CLIB", "Sam (customer)", "en-US", "en"),
    ("U0CLIC", "Marc (client)", "fr-FR", "fr"),
]
WEB_CUSTOMERS = [("Ana Lima <ana.lima@example.org>", "en"),
                 ("Bruno Costa <bruno.costa@example.org>", "fr")]
CORRECTIONS = {"fr": ["En vrai je compare sur mon téléphone, dans le métro",
                      "Je demande d'abord à mes collègues"],
               "en": ["Actually I only look at it on my phone", "I ask my colleagues first"]}
MISSING = {"fr": "Je lis les avis Google avant tout", "en": "I read the reviews first"}


def _button(message: dict, action_id: str) -> dict | None:
    for block in message.get("blocks") or []:
        for element in [*(block.get("elements") or []), block.get("accessory") or {}]:
            if element.get("action_id") == action_id:
                return element
    return None


def play_validation(slack: OfflineSlack, story) -> None:
    sb, d, services = slack.sandbox, slack.driver, slack.services
    with services.uow(slack.team_id) as uow:
        facilitator_person = next(p for w, p in uow.workshops.for_user("U0CAMILLE")
                                  if p.role == Role.FACILITATOR.value)
        workshop_id = facilitator_person.workshop_id
        workshop = uow.workshops.get(workshop_id)
        facilitator, channel = workshop.created_by, workshop.channel_id
        groups = sorted(uow.groups.groups(workshop_id), key=lambda g: g.number)
        first: WorkGroup = groups[0]
        group_channel = first.channel_id
        member = next(m.user_id for m in first.members if m.role == Role.PARTICIPANT.value)
        focuses = [(g.customer_type, g.channel_focus) for g in groups]
        members = [(g.channel_id, next(m.user_id for m in g.members
                                       if m.role == Role.PARTICIPANT.value)) for g in groups]

    def phase() -> str:
        with services.uow(slack.team_id) as uow:
            return run_of(uow, workshop_id).phase

    def announcement() -> dict:
        message = next(m for m in reversed(sb.messages(channel)) if _button(m, NEXT))
        return {**message, "channel": channel}

    for user_id, name, locale, _lang in SLACK_CUSTOMERS:
        if user_id not in sb.users:
            sb.add_user(user_id, name.split()[0].lower(), real_name=name, locale=locale,
                        tz="Europe/Paris")

    story.chapter("8b. Day 2 — customers validate or correct the maps",
                  "Real customers review the hypothetical map of their customer type, stage by "
                  "stage; what they say shows on the group's board, and the group accepts or "
                  "rejects their corrections during consolidation. Customers never see who "
                  "wrote what, and can do nothing else.")
    # Every group's map gets customers: Slack customers and web customers in turn.
    who = [*[("slack", u, lang) for u, _n, _l, lang in SLACK_CUSTOMERS],
           *[("web", line, lang) for line, lang in WEB_CUSTOMERS]]
    story.step(facilitator, "runs `/journey customers` and registers three Slack customers "
               "(two reviewing in French, one in English) and two people without Slack, "
               "each with the customer type (and channel focus) of a group's map")
    for n, (kind, person, lang) in enumerate(who):
        kind_of, focus_of = focuses[n % len(focuses)]
        d.command(facilitator, "customers", channel_id=channel)
        slack.settle()
        values = {"customer_type": kind_of, "language": lang}
        values["users" if kind == "slack" else "web"] = [person] if kind == "slack" else person
        if focus_of:
            values["channel_focus"] = focus_of
        d.submit_view(facilitator, values)
        slack.settle()
    story.outcome(brief=True)

    if phase() == "day1_wrapup":
        story.step(facilitator, "clicks **Suivant** (Next): customer validation opens; each "
                   "Slack customer gets a thank-you, the map of their customer type and "
                   "**Relire** (Review); the facilitator gets the progress with the web "
                   "customers' links")
        d.click(facilitator, NEXT, message=announcement())
        story.outcome()
    else:  # the schedule is elsewhere: send the invitations by hand
        progress = next(m for m in reversed(sb.dms(facilitator))
                        if _button(m, "customers.invite"))
        story.step(facilitator, "clicks **Envoyer les invitations** (Send invitations now)")
        d.click(facilitator, "customers.invite", message={**progress,
                                                          "channel": progress["channel"]})
        story.outcome()
    progress = next((m for m in reversed(sb.dms(facilitator))
                     if _button(m, "customers.revoke")), None)
    if progress is not None:
        links = [w.strip(".>") for w in unslack(progress.get("text", ""), story.names).split()
                 if "/review/" in w] or [
            w.strip(".>") for b in progress["blocks"]
            for w in (b.get("text") or {}).get("text", "").split() if "/review/" in w]
        story.note("Links for the people without Slack (the facilitator sends them; with "
                   "SMTP_URL set they are emailed): " + " · ".join(links))
        for k, link in enumerate(links[:len(WEB_CUSTOMERS)]):
            review_on_the_web(story, link, WEB_CUSTOMERS[k][0].split(" <")[0], k)
        slack.settle()

    for k, (user_id, _name, _locale, lang) in enumerate(SLACK_CUSTOMERS):
        review(slack, story, user_id, lang, k)

    story.step(SLACK_CUSTOMERS[0][0], "(a customer) forges a click on the board's "
               "*Open full board* button of a group")
    board = next(m for m in sb.messages(group_channel) if _button(m, "board.full"))
    d.click(SLACK_CUSTOMERS[0][0], "board.full", message={**board, "channel": group_channel})
    story.note("Refused privately; nothing of the board is shown.")
    story.outcome()

    story.step(member, "looks at the group's board: ✓ confirmations, ✎ corrections, "
               "✗ “never”, the customers' feeling per stage and the coverage")
    story.note("(the board message, as updated after the answers)")
    board = next(m for m in sb.messages(group_channel) if _button(m, "board.full"))
    from bot.transcript import indent, render_blocks

    story.parts.append(f"- the board in #{story.names.get(group_channel, group_channel)}:"
                       f"\n\n{indent(render_blocks(board['blocks'], story.names))}\n")

    if phase() == "validation":
        story.step(facilitator, "clicks **Suivant**: consolidation; customers are thanked")
        d.click(facilitator, NEXT, message=announcement())
        story.outcome(brief=True)

    for n, (g_channel, g_member) in enumerate(members):
        consolidate(slack, story, g_channel, g_member, detailed=n == 0)

    from workflows.validation import coverage

    with services.uow(slack.team_id) as uow:
        for group in uow.groups.groups(workshop_id):
            figures = coverage(uow, group)
            story.note(f"Group {group.number}'s map: {figures.items} steps and touchpoints, "
                       f"{figures.percent(figures.confirmed)}% confirmed, "
                       f"{figures.percent(figures.corrected)}% corrected, "
                       f"{figures.percent(figures.rejected)}% rejected; {figures.answered} "
                       f"of {figures.customers} customers answered; {figures.accepted} "
                       f"customer post-its accepted, {figures.declined} rejected.")

def consolidate(slack: OfflineSlack, story, group_channel: str, member: str, *,
                detailed: bool) -> None:
    """A group member opens the customers' feedback and decides on every proposal: two
    accepted for one rejected."""
    sb, d = slack.sandbox, slack.driver
    board = next((m for m in sb.messages(group_channel) if _button(m, "board.feedback")),
                 None)
    if board is None:
        return  # no customer said anything about this map
    if detailed:
        story.step(member, "clicks **Retours clients** (Customer feedback) on the board")
    d.click(member, "board.feedback", message={**board, "channel": group_channel})
    slack.settle()
    if detailed:
        story.outcome()
    decided = 0
    while decided <= 60:
        view = sb.top_view(member)
        accept = [e for b in (view or {}).get("blocks", []) if b.get("type") == "actions"
                  for e in b["elements"] if e["action_id"] == "feedback.accept"]
        if not accept:
            break
        action = "feedback.accept" if decided % 3 != 2 else "feedback.reject"
        d.click(member, action, value=accept[0]["value"])
        slack.settle()
        decided += 1
    story.step(member, f"accepts or rejects each of the {decided} proposals of "
               f"#{story.names.get(group_channel, group_channel)} (two accepted, one "
               "rejected in turn): accepted ones join the map, flagged “from a customer”")
    story.outcome(brief=True)
    sb.close_views(member)


def review(slack: OfflineSlack, story, user_id: str, lang: str, k: int) -> None:
    """One customer reviews every page: mostly "yes", one correction per map, one "never",
    a missing step on the first page, a feeling everywhere; the first customer first tries
    a "not quite" without saying what."""
    sb, d = slack.sandbox, slack.driver
    dm = next(m for m in reversed(sb.dms(user_id)) if _button(m, "customers.review"))
    d.click(user_id, "customers.review", message={**dm, "channel": dm["channel"]})
    slack.settle()
    story.step(user_id, "clicks **Review** in the bot's message: the first page opens")
    if k == 0:
        story.outcome()
    corrections = list(CORRECTIONS[lang])
    said_never = False
    page = 0
    while True:
        view = sb.top_view(user_id)
        if view is None or view.get("callback_id") != "customers.review" or \
                not view.get("submit"):
            break
        values: dict = {}
        items = [b["block_id"].split("_")[1] for b in view["blocks"]
                 if b.get("block_id", "").startswith("verdict_")]
        for n, post_it in enumerate(items):
            choice = (n + k + page) % 5
            if choice == 3 and corrections:
                values[f"verdict_{post_it}"] = "not_quite"
                values[f"correction_{post_it}"] = corrections.pop(0)
            elif choice == 4 and not said_never:
                values[f"verdict_{post_it}"] = "never"
                said_never = True
            else:
                values[f"verdict_{post_it}"] = "yes"
        blocks = {b.get("block_id") for b in view["blocks"]}
        if "feeling" in blocks:
            values["feeling"] = str(((page + k) % 5) - 2)
            if page == 0:
                values["feeling_text"] = "Curieux·se" if lang == "fr" else "Curious"
        if "missing" in blocks and page == 0:
            values["missing"] = MISSING[lang]
        if k == 0 and page == 0 and items:
            bad = {**values, f"verdict_{items[0]}": "not_quite"}
            bad.pop(f"correction_{items[0]}", None)
            reply = d.submit_view(user_id, bad)
            story.step(user_id, "answers “pas tout à fait” (not quite) without saying what, "
                       "and submits")
            story.note(f"The modal stays open and shows: {reply.errors}")
        d.submit_view(user_id, values)
        slack.settle()
        if k == 0 and page == 0:
            story.step(user_id, "answers the first page (a missing step, how they felt) and "
                       "submits: it is saved, the next page replaces it")
            story.outcome()
        page += 1
        if page > 100:
            break
    story.step(user_id, f"goes through the {page} pages and finishes")
    story.outcome(brief=True)
    sb.close_views(user_id)


def review_on_the_web(story, link: str, name: str, k: int) -> None:
    """A customer without Slack opens their link and answers every page with the web form
    (plain HTTP: GET the page, POST the form, follow the redirect to the next page)."""
    story.step(name, f"(no Slack) opens their personal link on a phone: {link}")
    with urllib.request.urlopen(link, timeout=30) as response:
        html, url = response.read().decode(), response.url
    story.extra_files[f"review-page-{name.split()[0].lower()}.html"] = html
    pages = 0
    while "name=\"page\"" in html and pages < 100:
        page = re.search(r'name="page" value="(\d+)"', html).group(1)
        items = list(dict.fromkeys(re.findall(r'name="verdict_(\d+)"', html)))
        form: list[tuple[str, str]] = [("page", page)]
        for n, post_it in enumerate(items):
            choice = (n + k + pages) % 4
            if choice == 3 and pages == 0:
                form += [(f"verdict_{post_it}", "not_quite"),
                         (f"correction_{post_it}", "I compare prices on my phone first"
                          if k == 0 else "Je compare d'abord les prix sur mon téléphone")]
            else:
                form.append((f"verdict_{post_it}", "never" if choice == 2 and pages == 1
                             else "yes"))
        if 'name="feeling"' in html:
            form += [("feeling", str((pages + k) % 3 - 1)), ("feeling_text", "")]
        if 'name="missing"' in html and pages == 0:
            form.append(("missing", "I ask a friend who bought one"
                         if k == 0 else "Je regarde les vidéos de démonstration"))
        request = urllib.request.Request(
            url.split("?")[0], data=urllib.parse.urlencode(form).encode(), method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        with urllib.request.urlopen(request, timeout=30) as response:  # follows the 303
            html, url = response.read().decode(), response.url
        pages += 1
    done = "done=1" in url
    story.note(f"{name} answered {pages} pages on the web page"
               + (" and reached the thank-you page." if done else "."))
