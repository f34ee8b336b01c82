"""Issue 2's first flow, through the HTTP endpoint: create a workshop, people join."""

from __future__ import annotations

import json
import time
import urllib.parse

from sqlalchemy import func, select

from storage.models import Person, Workshop
from tests.e2e.conftest import FACILITATOR, add_people, create_workshop, join, kickoff, visible_text


def count_rows(slack, model) -> int:
    with slack.services.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_help_is_private_and_in_the_users_language(slack):
    slack.sandbox.add_user("UFR", "lea", locale="fr-FR")
    reply = slack.driver.command("UFR", "help", channel_id=slack.channel)
    assert reply.status == 200 and reply.body == ""  # acked at once, answered after
    slack.settle()
    answer = slack.sandbox.ephemerals(user_id="UFR")[-1]
    assert "/journey new" in visible_text(answer)
    assert "anime votre atelier" in visible_text(answer)
    assert slack.sandbox.messages(slack.channel) == []  # nothing public


def test_new_workshop_then_twelve_people_join_from_four_departments(slack):
    message = create_workshop(slack, name="Spring <!channel> & <@U123> journey")
    text = visible_text(message)
    assert "&lt;!channel&gt; &amp; &lt;@U123&gt;" in text  # shown literally, pings nobody
    assert "<!channel>" not in text.replace("Spring <!channel> & <@U123> journey", "")
    assert "Raise satisfaction" in text and "CSAT" in text
    assert any(e.get("action_id") == "workshop.join"
               for b in message["blocks"] for e in b.get("elements", []))
    assert any("is ready" in m["text"] for m in slack.sandbox.dms(FACILITATOR))

    people = add_people(slack, 12, ["marketing", "cx", "sales", "legal"])
    for user_id, department in people:
        join(slack, user_id, department)

    final = visible_text(kickoff(slack))
    assert "12 joined" in final
    for label in ("Marketing 3", "Customer experience 3", "Sales 3", "Legal 3"):
        assert label in final
    with slack.services.db.sessions() as session:
        roles = session.execute(select(Person.role, func.count()).group_by(Person.role)).all()
        assert dict(roles) == {"facilitator": 1, "participant": 12}
    confirmations = [m for u, _ in people for m in slack.sandbox.dms(u)]
    assert len(confirmations) == 12


def test_changing_department_is_an_update_not_a_second_registration(slack):
    create_workshop(slack)
    add_people(slack, 1, ["x"])
    join(slack, "UP000", "marketing")
    join(slack, "UP000", "sales")
    assert count_rows(slack, Person) == 2
    assert "Sales 1" in visible_text(kickoff(slack))


def test_form_errors_are_inline_in_the_users_language_and_nothing_is_stored(slack):
    slack.sandbox.add_user("UFR", "lea", locale="fr-FR")
    slack.driver.command("UFR", "new", channel_id=slack.channel)
    slack.settle()
    from tests.e2e.conftest import workshop_form

    reply = slack.driver.submit_view("UFR", workshop_form(
        slack, name="", timezone="Mars/Olympus", day2_date="2020-01-01",
        customer_types="\n".join(f"type {n}" for n in range(101))))
    assert reply.status == 200
    assert reply.errors == {
        "name": "Donnez un nom à l'atelier.",
        "timezone": "« Mars/Olympus » n'est pas un fuseau connu. Essayez Europe/Paris ou "
                    "America/Montreal.",
        "day2_date": "Le jour 2 doit suivre le jour 1.",
        "customer_types": "100 lignes au plus (les menus Slack affichent 100 choix au maximum).",
    }
    assert count_rows(slack, Workshop) == 0
    assert slack.sandbox.top_view("UFR") is not None  # the modal stays open


def test_forged_and_stale_requests_are_rejected_and_change_nothing(slack):
    create_workshop(slack)
    before = (count_rows(slack, Workshop), count_rows(slack, Person))
    body = urllib.parse.urlencode({"command": "/journey", "text": "new", "user_id": "UX",
                                   "team_id": slack.team_id, "trigger_id": "t"}).encode()
    forged = slack.driver.sign(body)
    forged["X-Slack-Signature"] = "v0=" + "0" * 64
    assert slack.driver.post_raw(body, forged).status == 401
    stale = slack.driver.sign(body, timestamp=int(time.time()) - 6 * 60)
    assert slack.driver.post_raw(body, stale).status == 401
    payload = {"type": "view_submission", "team": {"id": slack.team_id},
               "user": {"id": "UX"}, "view": {"callback_id": "workshop.new", "state": {}}}
    view_body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    unsigned = {"X-Slack-Request-Timestamp": str(int(time.time()))}
    assert slack.driver.post_raw(view_body, unsigned).status == 401
    slack.settle()
    assert (count_rows(slack, Workshop), count_rows(slack, Person)) == before


def test_only_facilitators_manage_a_workshop(slack):
    create_workshop(slack)
    add_people(slack, 1, ["x"])
    join(slack, "UP000", "marketing")
    for word in ("people", "groups"):
        slack.driver.command("UP000", word, channel_id=slack.channel)
        slack.settle()
        assert "Only a facilitator" in visible_text(slack.sandbox.ephemerals(user_id="UP000")[-1])
    assert slack.sandbox.view_stack("UP000") == []


def test_facilitator_adds_leadership_and_they_are_told(slack):
    create_workshop(slack)
    slack.sandbox.add_user("ULEAD", "boss", locale="fr-FR")
    slack.driver.command(FACILITATOR, "people", channel_id=slack.channel)
    slack.settle()
    reply = slack.driver.submit_view(FACILITATOR, {"users": ["ULEAD"], "role": "leadership"})
    assert not reply.errors
    slack.settle()
    assert "direction" in slack.sandbox.dms("ULEAD")[-1]["text"]
    with slack.services.db.sessions() as session:
        assert session.scalar(select(Person.role).where(Person.user_id == "ULEAD")) == \
            "leadership"


def test_status_shows_where_the_caller_stands(slack):
    create_workshop(slack, name="Spring journey")
    slack.driver.command(FACILITATOR, "", channel_id=slack.channel)
    slack.settle()
    text = visible_text(slack.sandbox.ephemerals(user_id=FACILITATOR)[-1])
    assert "Spring journey" in text and "facilitator" in text and "Day 1 starts" in text


def test_unknown_subcommand_gets_help(slack):
    slack.driver.command(FACILITATOR, "frobnicate <!here>", channel_id=slack.channel)
    slack.settle()
    text = visible_text(slack.sandbox.ephemerals(user_id=FACILITATOR)[-1])
    assert "frobnicate" in text and "/journey new" in text


def test_another_workspace_cannot_join_or_see_the_workshop(slack):
    message = create_workshop(slack)
    add_people(slack, 1, ["x"])
    slack.driver.team_id = "T0OTHER"
    slack.driver.click("UP000", "workshop.join", message=message)
    slack.settle()
    assert slack.sandbox.view_stack("UP000") == []
    assert "can't find that workshop" in visible_text(
        slack.sandbox.ephemerals(user_id="UP000")[-1])


def test_app_home_shows_status(slack):
    create_workshop(slack)
    slack.driver.event({"type": "app_home_opened", "user": FACILITATOR, "tab": "home",
                        "channel": "D1"})
    slack.settle()
    home = slack.sandbox.home(FACILITATOR)
    assert home is not None and "Spring journey" in json.dumps(home)


def test_healthz(slack):
    import urllib.request

    with urllib.request.urlopen(f"{slack.server.url}/healthz", timeout=5) as response:
        assert response.status == 200 and response.read() == b"ok\n"
