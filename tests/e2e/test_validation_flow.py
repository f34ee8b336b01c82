"""Issue 6 through the HTTP endpoint: the facilitator registers customers, validation opens
and each Slack customer gets a DM with the hypothetical map and Review; three customers
review page by page (inline errors in their language, stop and resume), their answers show
on the group's board; reminders; the group accepts or rejects the corrections during
consolidation; coverage figures; and every forged access refused, logged, revealing
nothing. Time moves with `services.clock` and `services.schedule.tick()`."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest

from storage.models import Customer, CustomerAnswer, PostIt, WorkGroup, WorkshopSchedule
from tests.e2e.conftest import (
    FACILITATOR,
    confirmed_groups,
    create_workshop,
    visible_text,
)
from workflows.phases import Run
from workflows.validation import coverage

CUSTOMERS = {"UC1": "en-US", "UC2": "en-US", "UC3": "fr-FR"}


# --- helpers -----------------------------------------------------------------------------------


def run(slack) -> Run:
    with slack.services.db.sessions() as session:
        return Run.from_dict(session.query(WorkshopSchedule).one().run)


def controls(slack) -> dict:
    """The message with the facilitator's Next button: the latest announcement, else the
    agenda DM (Start now)."""
    def has_next(m) -> bool:
        return any(e.get("action_id") == "schedule.next"
                   for b in m.get("blocks") or [] for e in b.get("elements") or [])

    found = [m for m in slack.sandbox.messages(slack.channel) if has_next(m)] or \
        [m for m in slack.sandbox.dms(FACILITATOR) if has_next(m)]
    return {**found[-1], "channel": found[-1]["channel"]}


def next_phase(slack) -> None:
    slack.driver.click(FACILITATOR, "schedule.next", message=controls(slack))
    slack.settle()


def buttons(message: dict) -> dict[str, dict]:
    found = {}
    for block in message.get("blocks") or []:
        for element in [*(block.get("elements") or []), block.get("accessory") or {}]:
            if element.get("type") == "button":
                found.setdefault(element["action_id"], element)
    return found


def dm_with(slack, user: str, action: str) -> dict:
    message = next(m for m in reversed(slack.sandbox.dms(user)) if action in buttons(m))
    return message


def board_message(slack, channel: str) -> dict:
    message = next(m for m in slack.sandbox.messages(channel)
                   if "Journey board" in visible_text(m))
    return {**message, "channel": channel}


def board_text(slack, channel: str) -> str:
    message = board_message(slack, channel)
    return json.dumps(message["blocks"], ensure_ascii=False)


def customer_ids(slack) -> dict[str, int]:
    with slack.services.db.sessions() as session:
        return {c.user_id or c.email: c.id for c in session.query(Customer)}


def answers_of(slack, customer_id: int) -> dict[str, tuple]:
    with slack.services.db.sessions() as session:
        return {a.key: (a.verdict, a.text, a.score) for a in session.query(CustomerAnswer)
                .filter(CustomerAnswer.customer_id == customer_id)}


def block_ids(view: dict) -> list[str]:
    return [b.get("block_id") for b in view["blocks"]]


def refusal(slack, user: str) -> str:
    """The latest private message the user got (ephemeral, else DM)."""
    ephemeral = slack.sandbox.ephemerals(user_id=user)
    dms = slack.sandbox.dms(user)
    latest = max([*ephemeral, *dms], key=lambda m: float(m["ts"]))
    return visible_text(latest)


def open_review(slack, user: str) -> dict:
    dm = dm_with(slack, user, "customers.review")
    slack.driver.click(user, "customers.review",
                       message={**dm, "channel": dm["channel"]})
    slack.settle()
    view = slack.sandbox.top_view(user)
    assert view is not None and view["callback_id"] == "customers.review"
    return view


def submit_page(slack, user: str, values: dict | None = None):
    reply = slack.driver.submit_view(user, values or {})
    slack.settle()
    return reply


def add_post_it(slack, user: str, channel: str, kind: str, stage: str, text: str,
                where: str | None) -> None:
    """`/journey add` → the modal → submit."""
    slack.driver.command(user, "add", channel_id=channel)
    slack.settle()
    view = slack.sandbox.top_view(user)
    stages = next(b for b in view["blocks"] if b.get("block_id") == "stage")
    stage_id = next(o["value"] for o in stages["element"]["options"]
                    if o["text"]["text"] == stage)
    values = {"kind": kind, "stage": stage_id, "text": text}
    if where:
        values["channel"] = where
    reply = slack.driver.submit_view(user, values)
    assert not reply.errors, reply.errors
    slack.settle()


# --- the workshop up to validation --------------------------------------------------------------


@pytest.fixture
def day2(slack):
    """Two confirmed groups; group 1 (customer type T) has two steps in awareness and a
    touchpoint in purchase; 3 Slack customers of type T (UC3 in French) and a web customer
    are registered; the workshop is in the validation phase. Returns a dict of facts."""
    create_workshop(slack)
    confirmed_groups(slack)
    for user, locale in CUSTOMERS.items():
        slack.sandbox.add_user(user, user.lower(), real_name=f"Customer {user}", locale=locale)
    with slack.services.db.sessions() as session:
        groups = {g.number: (g.id, g.channel_id, g.customer_type)
                  for g in session.query(WorkGroup)}
    group_id, channel, customer_type = groups[1]
    members = [m for m in slack.sandbox.channels[channel]["members"] if m.startswith("UP")]
    other_channel = groups[2][1]
    outsider = next(m for m in slack.sandbox.channels[other_channel]["members"]
                    if m.startswith("UP"))

    # The facilitator registers the customers (Slack users in English, then UC3 in French,
    # and a person without Slack).
    slack.driver.command(FACILITATOR, "customers", channel_id=slack.channel)
    slack.settle()
    view = slack.sandbox.top_view(FACILITATOR)
    assert view["callback_id"] == "customers.add"
    reply = slack.driver.submit_view(FACILITATOR, {
        "users": ["UC1", "UC2"], "web": "Ana Lima <ana@example.org>",
        "customer_type": customer_type, "language": "en"})
    assert reply.status == 200 and not reply.errors, reply.body
    slack.settle()
    slack.driver.command(FACILITATOR, "customers", channel_id=slack.channel)
    slack.settle()
    reply = slack.driver.submit_view(FACILITATOR, {
        "users": ["UC3"], "customer_type": customer_type, "language": "fr"})
    assert not reply.errors, reply.body
    slack.settle()

    next_phase(slack)  # Start now: kick-off
    next_phase(slack)  # group formation
    next_phase(slack)  # stages
    for kind, stage, text, where in (("step", "Awareness", "Sees an ad", None),
                                     ("step", "Awareness", "Asks friends", None),
                                     ("touchpoint", "Purchase", "Pays online", "website"),
                                     ("pain", "Purchase", "Payment fails", None)):
        add_post_it(slack, members[0], channel, kind, stage, text, where)
    for _ in range(4):  # stage details, share-out, day-1 wrap-up, validation
        next_phase(slack)
    assert run(slack).phase == "validation"
    with slack.services.db.sessions() as session:
        ids = {p.text: p.id for p in session.query(PostIt)}
    return {"group": group_id, "channel": channel, "type": customer_type, "members": members,
            "outsider": outsider, "other_channel": other_channel, "ids": ids,
            "customers": customer_ids(slack)}


def answer_everything(slack, user: str, first_page: dict, ids: dict, *, a: str, b: str,
                      c: str, missing: str | None = None, feeling: str = "1") -> None:
    """Review every page from the first: awareness (A, B), consideration, purchase (C)..."""
    def verdict(v: str, post_it: int) -> dict:
        values = {f"verdict_{post_it}": v.split(":")[0]}
        if ":" in v:
            values[f"correction_{post_it}"] = v.split(":", 1)[1]
        return values

    values = {**verdict(a, ids["Sees an ad"]), **verdict(b, ids["Asks friends"]),
              "feeling": feeling}
    if missing:
        values["missing"] = missing
    reply = submit_page(slack, user, values)
    assert not reply.errors, reply.errors
    submit_page(slack, user)  # consideration: nothing listed
    reply = submit_page(slack, user, {**verdict(c, ids["Pays online"]), "feeling": "-1"})
    assert not reply.errors, reply.errors
    submit_page(slack, user)  # retention
    view = slack.sandbox.top_view(user)
    assert view["submit"]["text"] in ("Finish", "Terminer")
    submit_page(slack, user)  # advocacy: the end
    assert any(w in json.dumps(slack.sandbox.top_view(user), ensure_ascii=False)
               for w in ("Thank you!", "Merci !"))


# --- the flow ----------------------------------------------------------------------------------


def test_three_customers_review_and_the_group_consolidates(slack, day2):
    ids, group_channel = day2["ids"], day2["channel"]
    customers = day2["customers"]

    # The invitations: a thank-you, the map of their customer type, Review; no authors.
    for user in CUSTOMERS:
        dm = dm_with(slack, user, "customers.review")
        text = json.dumps(dm["blocks"], ensure_ascii=False)
        assert "Sees an ad" in text and "Pays online" in text
        assert "Payment fails" not in text  # only steps and touchpoints are reviewed
        assert "UP0" not in text and "Person" not in text  # no participant is named
    assert "Thank you for helping" in visible_text(dm_with(slack, "UC1", "customers.review"))
    assert "Merci d'aider" in visible_text(dm_with(slack, "UC3", "customers.review"))
    # The facilitator got the progress with the web customer's link to send.
    progress = dm_with(slack, FACILITATOR, "customers.remind_all")
    assert f"{slack.settings.public_url}/review/" in visible_text(progress)
    assert "customers.revoke" in buttons(progress) and "customers.remind" in buttons(progress)

    # UC1: everything in one go; confirms A and B, says "never" to C, adds a missing step.
    first = open_review(slack, "UC1")
    assert f"verdict_{ids['Sees an ad']}" in block_ids(first)
    assert f"correction_{ids['Asks friends']}" in block_ids(first)
    assert "missing" in block_ids(first) and "feeling" in block_ids(first)
    assert len(first["blocks"]) < 100
    answer_everything(slack, "UC1", first, ids, a="yes", b="yes", c="never",
                      missing="Reads reviews")

    # UC2: "not quite" without a correction → inline error; then stops after page 1 and
    # resumes where they left off.
    open_review(slack, "UC2")
    reply = submit_page(slack, "UC2", {f"verdict_{ids['Sees an ad']}": "yes",
                                       f"verdict_{ids['Asks friends']}": "not_quite"})
    assert reply.errors == {f"correction_{ids['Asks friends']}":
                            "Tell us what really happens, or pick another answer."}
    assert answers_of(slack, customers["UC2"]) == {}  # nothing saved from a refused page
    reply = submit_page(slack, "UC2", {f"verdict_{ids['Sees an ad']}": "yes",
                                       f"verdict_{ids['Asks friends']}": "not_quite",
                                       f"correction_{ids['Asks friends']}": "Asks classmates",
                                       "feeling": "0"})
    assert not reply.errors
    slack.driver.close_view("UC2")
    resumed = open_review(slack, "UC2")
    assert resumed["blocks"][0]["text"]["text"] == "Consideration"  # page 2: resumed
    submit_page(slack, "UC2")
    reply = submit_page(slack, "UC2", {f"verdict_{ids['Pays online']}": "never"})
    assert not reply.errors
    slack.driver.close_view("UC2")

    # The facilitator reminds UC3 with one click; the progress updates in place.
    progress = dm_with(slack, FACILITATOR, "customers.remind_all")
    slack.driver.click(FACILITATOR, "customers.remind", value=str(customers["UC3"]),
                       message={**progress, "channel": progress["channel"]})
    slack.settle()
    assert "Petit rappel" in visible_text(slack.sandbox.dms("UC3")[-1])
    assert not any("friendly reminder" in m["text"] for m in slack.sandbox.dms("UC1"))
    updated = next(m for m in slack.sandbox.dms(FACILITATOR) if m["ts"] == progress["ts"])
    assert "Reminder sent to 1 customer" in visible_text(updated)

    # UC3 (French): an oversize correction → an inline error in French; then two corrections.
    page = open_review(slack, "UC3")
    assert "Oui, c'est moi" in json.dumps(page, ensure_ascii=False)
    reply = submit_page(slack, "UC3", {f"verdict_{ids['Sees an ad']}": "not_quite",
                                       f"correction_{ids['Sees an ad']}": "x" * 600})
    assert reply.errors == {f"correction_{ids['Sees an ad']}":
                            "600 caractères : 500 au plus, s'il vous plaît."}
    slack.driver.close_view("UC3")
    answer_everything(slack, "UC3", open_review(slack, "UC3"), ids,
                      a="not_quite:Voit une pub <!here> TikTok",
                      b="not_quite:Demande à la famille", c="yes", feeling="-2")

    # The board: confirmations next to each post-it, the customers' feeling, coverage and
    # the Customer feedback button with the 4 proposals.
    board = board_text(slack, group_channel)
    assert "Sees an ad (✓2, ✎1)" in board
    assert "Pays online (Website, ✓1, ✗2)" in board
    assert "Customers' feeling here: -0.3" in board  # awareness: (1 + 0 - 2) / 3
    assert "Customers: 3/4 answered · ✓ 33% confirmed · ✎ 33% corrected · " \
           "✗ 33% rejected · 4 to decide" in board
    assert "Customer feedback (4)" in board
    assert "Voit une pub" not in board  # proposals wait for the group's decision

    # Consolidation: too late for customers — politely refused, nothing kept. UC2 still
    # has a page open when the phase changes, then submits it.
    open_review(slack, "UC2")
    before = answers_of(slack, customers["UC2"])
    next_phase(slack)
    assert run(slack).phase == "consolidation"
    assert any("Thank you for your answers" in m["text"] for m in slack.sandbox.dms("UC1"))
    reply = submit_page(slack, "UC2", {"feeling": "2", "missing": "Too late"})
    assert reply.status == 200 and not reply.errors
    assert "The customer validation is closed: these last answers could not be saved" in \
        json.dumps(slack.sandbox.top_view("UC2"))
    assert answers_of(slack, customers["UC2"]) == before
    slack.driver.close_view("UC2")
    dm = dm_with(slack, "UC2", "customers.review")
    slack.driver.click("UC2", "customers.review", message={**dm, "channel": dm["channel"]})
    slack.settle()
    assert "Customer validation is closed" in refusal(slack, "UC2")
    assert answers_of(slack, customers["UC2"]) == before

    # The group decides: accept two, reject two.
    member = day2["members"][1]
    slack.driver.click(member, "board.feedback", message=board_message(slack, group_channel))
    slack.settle()
    view = slack.sandbox.top_view(member)
    text = json.dumps(view, ensure_ascii=False)
    assert "Asks classmates" in text and "Reads reviews" in text
    assert "Voit une pub &lt;!here&gt; TikTok" in text  # escaped: pings nobody
    assert "UC1" not in text and "Customer UC" not in text  # customers are not named
    proposals = [json.loads(e["value"])["p"] for b in view["blocks"] if b["type"] == "actions"
                 for e in b["elements"] if e["action_id"] == "feedback.accept"]
    assert len(proposals) == 4
    for n, post_it in enumerate(proposals):
        action = "feedback.accept" if n < 2 else "feedback.reject"
        slack.driver.click(member, action, value=json.dumps({"p": post_it, "g": day2["group"]}))
        slack.settle()
    assert "No customer proposal is waiting" in json.dumps(slack.sandbox.top_view(member))
    with slack.services.uow(slack.team_id) as uow:
        figures = coverage(uow, uow.board.group(day2["group"]))
    assert (figures.items, figures.confirmed, figures.corrected, figures.rejected) == (3, 1, 1, 1)
    assert (figures.customers, figures.answered) == (4, 3)  # Ana (web) hasn't answered
    assert (figures.proposed, figures.accepted, figures.declined) == (0, 2, 2)
    board = board_text(slack, group_channel)
    assert "(from a customer)" in board and "0 to decide" in board
    assert "Customer feedback (0)" in board


def test_the_automatic_reminder_before_validation_ends(slack, day2):
    customers = day2["customers"]
    answer_everything(slack, "UC1", open_review(slack, "UC1"), day2["ids"], a="yes", b="yes",
                      c="yes")
    end = run(slack).timetable.ends_at("validation")
    slack.services.clock = lambda: end - timedelta(minutes=10)
    slack.services.schedule.tick()
    slack.settle()
    reminded = {u for u in CUSTOMERS if any(
        "friendly reminder" in m["text"] or "Petit rappel" in m["text"]
        for m in slack.sandbox.dms(u))}
    assert reminded == {"UC2", "UC3"}  # UC1 has finished
    with slack.services.db.sessions() as session:
        assert session.get(Customer, customers["UC2"]).reminded_at is not None
    # "Remind all" by hand reaches the same two; nobody gets it twice from one click.
    progress = dm_with(slack, FACILITATOR, "customers.remind_all")
    slack.driver.click(FACILITATOR, "customers.remind_all",
                       message={**progress, "channel": progress["channel"]})
    slack.settle()
    assert sum("friendly reminder" in m["text"] for m in slack.sandbox.dms("UC2")) == 2
    assert not any("friendly reminder" in m["text"] for m in slack.sandbox.dms("UC1"))


def test_web_customers_links_new_link_and_revoke(slack, day2):
    from workflows import customer_links

    progress = dm_with(slack, FACILITATOR, "customers.revoke")
    url = next(w for w in visible_text(progress).split() if "/review/" in w).rstrip(".>")
    token = url.rsplit("/review/", 1)[1]
    secret = slack.settings.review_secret()
    claim = customer_links.read(token, secret)
    ana = day2["customers"]["ana@example.org"]
    assert claim.customer_id == ana and claim.team_id == slack.team_id
    slack.driver.click(FACILITATOR, "customers.revoke", value=str(ana),
                       message={**progress, "channel": progress["channel"]})
    slack.settle()
    with slack.services.db.sessions() as session:
        customer = session.get(Customer, ana)
        with pytest.raises(Exception) as refused:
            customer_links.check(customer, claim)
    assert refused.value.code == "link_revoked"
    updated = next(m for m in slack.sandbox.dms(FACILITATOR) if m["ts"] == progress["ts"])
    assert "no longer work" in visible_text(updated) and "/review/" not in visible_text(updated)
    slack.driver.click(FACILITATOR, "customers.new_link", value=str(ana),
                       message={**updated, "channel": updated["channel"]})
    slack.settle()
    updated = next(m for m in slack.sandbox.dms(FACILITATOR) if m["ts"] == progress["ts"])
    fresh = next(w for w in visible_text(updated).split() if "/review/" in w).rstrip(".>")
    with slack.services.db.sessions() as session:
        customer = session.get(Customer, ana)
        assert customer_links.check(customer, customer_links.read(
            fresh.rsplit("/review/", 1)[1], secret)) is customer


# --- authorization: every forged access -----------------------------------------------------------


def test_a_customer_cannot_forge_a_review_button_or_metadata(slack, day2, caplog):
    customers, ids = day2["customers"], day2["ids"]
    caplog.set_level(logging.WARNING)
    # A forged Review button value: another customer's id, another workshop's, garbage.
    for forged in (str(customers["UC2"]), "99999", "1; drop", str(customers["ana@example.org"])):
        dm = dm_with(slack, "UC1", "customers.review")
        payload_click(slack, "UC1", "customers.review", forged, dm)
        assert slack.sandbox.top_view("UC1") is None  # no modal opened
        assert "This is not available to you." in refusal(slack, "UC1")
    assert sum("refused customers.review" in r.getMessage() for r in caplog.records) == 4

    # Forged private_metadata: UC1's open review page claims to be UC2's.
    view = open_review(slack, "UC1")
    with slack.sandbox._lock:
        slack.sandbox.views[view["id"]]["private_metadata"] = json.dumps(
            {"c": customers["UC2"], "i": 0, "lang": "en"})
    reply = submit_page(slack, "UC1", {f"verdict_{ids['Sees an ad']}": "never"})
    assert reply.status == 200
    assert "This is not available to you." in json.dumps(slack.sandbox.top_view("UC1"))
    assert answers_of(slack, customers["UC2"]) == {}
    assert any("refused a review page to UC1" in r.getMessage() for r in caplog.records)

    # A post-it of another page (or another group) in the submitted state: refused.
    slack.driver.close_view("UC1")
    view = open_review(slack, "UC1")
    with slack.sandbox._lock:
        slack.sandbox.views[view["id"]]["blocks"].append(
            {"type": "input", "block_id": f"verdict_{ids['Pays online']}", "optional": True,
             "label": {"type": "plain_text", "text": "x"},
             "element": {"type": "radio_buttons", "action_id": "value", "options": [
                 {"text": {"type": "plain_text", "text": "never"}, "value": "never"}]}})
    submit_page(slack, "UC1", {f"verdict_{ids['Pays online']}": "never"})
    assert "This is not available to you." in json.dumps(slack.sandbox.top_view("UC1"))
    assert answers_of(slack, customers["UC1"]) == {}

    # A page index beyond the customer's review.
    slack.driver.close_view("UC1")
    view = open_review(slack, "UC1")
    with slack.sandbox._lock:
        slack.sandbox.views[view["id"]]["private_metadata"] = json.dumps(
            {"c": customers["UC1"], "i": 42, "lang": "en"})
    submit_page(slack, "UC1", {})
    assert "This is not available to you." in json.dumps(slack.sandbox.top_view("UC1"))


def payload_click(slack, user: str, action_id: str, value: str, message: dict):
    """A block_actions payload with a forged button value (as a modified client would send)."""
    driver = slack.driver
    payload = driver._base("block_actions", user)
    payload["trigger_id"] = driver._trigger(user)
    payload["actions"] = [{"type": "button", "action_id": action_id, "block_id": "x",
                           "value": value, "action_ts": "1.0"}]
    payload["container"] = {"type": "message", "message_ts": message["ts"],
                            "channel_id": message["channel"], "is_ephemeral": False}
    payload["channel"] = {"id": message["channel"], "name": "dm"}
    payload["response_url"] = slack.sandbox.new_response_url(message["channel"], user,
                                                             message["ts"])
    reply = driver._interact(payload, None, None)
    slack.settle()
    return reply


def test_customers_are_refused_every_other_command_and_board_action(slack, day2, caplog):
    caplog.set_level(logging.WARNING)
    group, channel = day2["group"], day2["channel"]
    for words in ("add step awareness: I was here", "add", "board", "vote", "groups",
                  "people", "customers", "customers progress", "map", "schedule", "next",
                  "settings", "publish", "export", "review"):
        public = len(slack.sandbox.messages(slack.channel))
        private = len(slack.sandbox.ephemerals(user_id="UC1")) + len(slack.sandbox.dms("UC1"))
        reply = slack.driver.command("UC1", words, channel_id=slack.channel)
        slack.settle()
        assert "Added to" not in reply.body, words
        assert slack.sandbox.top_view("UC1") is None, words
        assert len(slack.sandbox.messages(slack.channel)) == public, words
        told = len(slack.sandbox.ephemerals(user_id="UC1")) + len(slack.sandbox.dms("UC1"))
        assert told == private + 1, words  # refused, privately
        said = refusal(slack, "UC1") + reply.body
        assert "As a customer, you review the map from the message I sent you" in said, words
    with slack.services.db.sessions() as session:
        assert not session.query(PostIt).filter(PostIt.text == "I was here").count()
    assert run(slack).phase == "validation"
    message = board_message(slack, channel)
    for action in ("board.add", "board.arrange", "board.stages", "board.full",
                   "board.feedback"):
        payload_click(slack, "UC1", action, str(group), message)
        assert slack.sandbox.top_view("UC1") is None, action
    # Deciding on a proposal: a customer, a participant of another group — refused.
    answer_everything(slack, "UC2", open_review(slack, "UC2"), day2["ids"], a="yes",
                      b="not_quite:Asks classmates", c="yes")
    with slack.services.db.sessions() as session:
        proposal = session.query(PostIt).filter(PostIt.origin == "customer").one()
        proposal_id = proposal.id
    value = json.dumps({"p": proposal_id, "g": group})
    for user in ("UC1", day2["outsider"]):
        payload_click(slack, user, "feedback.accept", value, message)
    payload_click(slack, day2["outsider"], "feedback.open", str(group), message)
    assert slack.sandbox.top_view(day2["outsider"]) is None
    with slack.services.db.sessions() as session:
        assert session.get(PostIt, proposal_id).review == "proposed"
    # A facilitator-only button clicked by a customer, with a real workshop id.
    with slack.services.db.sessions() as session:
        workshop_id = session.query(WorkGroup).first().workshop_id
    before = len(slack.sandbox.dms("UC2"))
    for action in ("customers.remind_all", "customers.invite", "customers.add"):
        payload_click(slack, "UC1", action, str(workshop_id), message)
    payload_click(slack, "UC1", "customers.remind", str(day2["customers"]["UC2"]), message)
    payload_click(slack, "UC1", "customers.revoke", str(day2["customers"]["ana@example.org"]),
                  message)
    assert len(slack.sandbox.dms("UC2")) == before  # nobody was reminded
    assert slack.sandbox.top_view("UC1") is None
    assert "refused customers.remind" in caplog.text


def test_the_customer_modal_shows_inline_errors_and_adding_twice_changes_nothing(slack):
    create_workshop(slack)
    slack.sandbox.add_user("UC1", "uc1")
    slack.driver.command(FACILITATOR, "customers", channel_id=slack.channel)
    slack.settle()
    reply = slack.driver.submit_view(FACILITATOR, {"customer_type": "Students",
                                                   "web": "Ana <ana@example.org>\nBob"})
    assert reply.errors == {"web": "Line 2: write Name <email>."}
    reply = slack.driver.submit_view(FACILITATOR, {"customer_type": "Students"})
    assert reply.errors == {"users": "Pick Slack users or write people without Slack."}
    reply = slack.driver.submit_view(FACILITATOR, {"customer_type": "Students",
                                                   "users": [FACILITATOR]})
    assert "already in the workshop as facilitator" in reply.errors["users"]
    assert not slack.driver.submit_view(FACILITATOR, {"customer_type": "Students",
                                                      "users": ["UC1"]}).errors
    slack.settle()
    progress = dm_with(slack, FACILITATOR, "customers.add")
    assert "1 customer(s) added" in visible_text(progress)
    assert "customers.invite" in buttons(progress)  # not invited yet: the phase hasn't begun
    # Send invitations now: the customer gets the DM at once.
    slack.driver.click(FACILITATOR, "customers.invite",
                       message={**progress, "channel": progress["channel"]})
    slack.settle()
    assert dm_with(slack, "UC1", "customers.review")
    open_review_reply = dm_with(slack, "UC1", "customers.review")
    slack.driver.click("UC1", "customers.review",
                       message={**open_review_reply, "channel": open_review_reply["channel"]})
    slack.settle()
    assert "nothing to review yet" in refusal(slack, "UC1")


# --- email (SMTP_URL set): a tiny SMTP server on 127.0.0.1 ----------------------------------------


class TinySMTP:
    """Just enough of SMTP to receive the bot's mails (no TLS offered: plain smtp://)."""

    def __init__(self) -> None:
        import socket
        import threading

        self.mails: list[str] = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn, conn.makefile("rb") as lines:
                conn.sendall(b"220 tiny\r\n")
                data: list[bytes] | None = None
                for line in lines:
                    if data is not None:
                        if line == b".\r\n":
                            self.mails.append(b"".join(data).decode())
                            data = None
                            conn.sendall(b"250 ok\r\n")
                        else:
                            data.append(line)
                        continue
                    verb = line[:4].upper()
                    if verb == b"DATA":
                        data = []
                        conn.sendall(b"354 go\r\n")
                    elif verb == b"QUIT":
                        conn.sendall(b"221 bye\r\n")
                        break
                    else:
                        conn.sendall(b"250 ok\r\n")

    def close(self) -> None:
        self.sock.close()


def test_web_customers_get_their_link_by_email_when_smtp_is_set(slack):
    from dataclasses import replace

    server = TinySMTP()
    try:
        slack.services.settings = replace(slack.services.settings,
                                          smtp_url=f"smtp://127.0.0.1:{server.port}",
                                          mail_from="workshop@example.org")
        create_workshop(slack)
        slack.driver.command(FACILITATOR, "customers", channel_id=slack.channel)
        slack.settle()
        slack.driver.submit_view(FACILITATOR, {"customer_type": "Students", "language": "fr",
                                               "web": "Ana Lima <ana@example.org>"})
        slack.settle()
        progress = dm_with(slack, FACILITATOR, "customers.invite")
        slack.driver.click(FACILITATOR, "customers.invite",
                           message={**progress, "channel": progress["channel"]})
        slack.settle()
        assert len(server.mails) == 1
        mail = server.mails[0]
        assert "To: ana@example.org" in mail and "From: workshop@example.org" in mail
        assert "Bonjour Ana Lima" in mail and f"{slack.settings.public_url}/review/" in mail
        updated = next(m for m in slack.sandbox.dms(FACILITATOR) if m["ts"] == progress["ts"])
        assert "Invitations sent to 1 customer" in visible_text(updated)
    finally:
        server.close()
