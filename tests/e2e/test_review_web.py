"""Issue 6, item 3 over HTTP: customers without Slack review their map on a web page served
by the app (`/review/<token>`). Forged, altered, expired and revoked links; pages and
post-its that are not the customer's; inline errors; the schedule's gate; headers; escaping.
Plain urllib against the app's real HTTP server (bot/offline.py)."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta, timezone

from storage.models import CustomerAnswer, PostIt
from tests.e2e.review_support import http, move_to, reopen, seed
from workflows import customer_links
from workflows.board import MAX_TEXT
from workflows.validation import coverage

UTC = timezone.utc


def url(slack, token: str, query: str = "") -> str:
    return f"{slack.server.url}/review/{token}{query}"


def answers(slack, customer_id: int | None = None) -> list[CustomerAnswer]:
    with slack.services.db.sessions() as session:
        query = session.query(CustomerAnswer)
        if customer_id is not None:
            query = query.filter_by(customer_id=customer_id)
        return query.order_by(CustomerAnswer.id).all()


def proposals(slack) -> list[PostIt]:
    with slack.services.db.sessions() as session:
        return session.query(PostIt).filter_by(origin="customer").all()


def test_a_web_customer_reviews_every_page_and_the_board_follows(slack):
    s = seed(slack)
    ad, friends, pays = s.post_its["ad"], s.post_its["friends"], s.post_its["pays"]
    first = http(url(slack, s.tokens["ana"]))
    assert first.status == 200
    assert '<html lang="en">' in first.body and 'name="viewport"' in first.body
    assert "Page 1 of 5" in first.body and "Stage: Awareness" in first.body
    assert "Journey of: Students" in first.body
    for verdict in ("Yes, that&#x27;s me", "Not quite", "Never"):
        assert verdict in first.body
    assert f'<label class="field" for="correction_{ad}">' in first.body
    assert 'for="missing"' in first.body and "How did you feel?" in first.body
    # escaping: post-it text is shown, never interpreted
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in first.body
    assert "&lt;!here&gt; &amp; family" in first.body
    assert "<script" not in first.body and "<!here>" not in first.body
    # nobody's name: no participant, no author
    for name in ("UPART1", "UPART2", "Person", "UFAC", "Camille"):
        assert name not in first.body
    # headers: no scripts, no referrer (the token is in the URL), no caching
    csp = first.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    nonce = re.search(r"'nonce-([^']+)'", csp)[1]
    assert f'<style nonce="{nonce}">' in first.body
    assert first.headers["X-Content-Type-Options"] == "nosniff"
    assert first.headers["Referrer-Policy"] == "no-referrer"
    assert first.headers["Cache-Control"] == "no-store"
    assert first.headers["Content-Type"] == "text/html; charset=utf-8"

    saved = http(url(slack, s.tokens["ana"]), {
        "page": "1", f"verdict_{ad}": "yes", f"verdict_{friends}": "not_quite",
        f"correction_{friends}": "Asks classmates", "missing": "Reads reviews",
        "feeling": "1", "feeling_text": "curious"})
    assert saved.status == 303 and saved.headers["Location"].endswith("?page=2")
    again = http(url(slack, s.tokens["ana"], "?page=1"))  # pre-filled
    assert re.search(rf'value="yes" id="verdict_{ad}_yes" checked', again.body)
    assert ">Asks classmates</textarea>" in again.body and ">Reads reviews</textarea>" in again.body
    assert 'id="feeling_3" value="1" checked' in again.body
    assert "Previous" not in again.body  # page 1 has no previous page
    page3 = http(url(slack, s.tokens["ana"], "?page=3"))
    assert "Page 3 of 5" in page3.body and "Stage: Purchase" in page3.body
    assert "Channel: Website" in page3.body and "Payment fails" not in page3.body
    assert "?page=2" in page3.body and "Previous" in page3.body
    assert http(url(slack, s.tokens["ana"]), {"page": "3", f"verdict_{pays}": "never"}).status == 303
    for page in (2, 4):
        assert http(url(slack, s.tokens["ana"]), {"page": str(page)}).status == 303
    last = http(url(slack, s.tokens["ana"]), {"page": "5", "feeling": "-2"})
    assert last.status == 303 and last.headers["Location"].endswith("?done=1")
    thanks = http(url(slack, s.tokens["ana"], "?done=1"))
    assert thanks.status == 200 and "Thank you!" in thanks.body
    slack.settle()
    with slack.services.uow(slack.team_id) as uow:
        found = coverage(uow, uow.board.group(s.groups[0]))
        assert (found.items, found.confirmed, found.corrected, found.rejected) == (3, 1, 1, 1)
        assert (found.customers, found.answered, found.proposed) == (2, 1, 2)
        assert uow.customers.get(s.customers["ana"]).done_at is not None
    assert {p.text for p in proposals(slack)} == {"Asks classmates", "Reads reviews"}
    # the group's board message was refreshed (posted: nothing else asked for it here)
    board = [m for m in slack.sandbox.messages(
        _channel(slack, s.groups[0])) if m.get("blocks")]
    assert len(board) == 1 and "group 1" in str(board[0]["blocks"])


def _channel(slack, group_id: int) -> str:
    with slack.services.uow(slack.team_id) as uow:
        return uow.board.group(group_id).channel_id


def test_french_customer_sees_french(slack):
    s = seed(slack)
    page = http(url(slack, s.tokens["bruno"]))
    assert '<html lang="fr">' in page.body and "Page 1 sur 5" in page.body
    assert "Oui, c&#x27;est moi" in page.body and "Prise de conscience" in page.body
    assert page.headers["Content-Language"] == "fr"


def test_forged_or_altered_links_are_refused_revealing_nothing(slack, caplog):
    s = seed(slack)
    token = s.tokens["ana"]
    payload, _, signature = token.partition(".")
    other = s.tokens["chloe"].partition(".")[0]
    caplog.set_level(logging.WARNING, logger="bot.review_pages")
    for forged in (f"{other}.{signature}",                       # another customer's claim
                   f"{payload}.{signature[:-2]}xx",               # altered signature
                   "A" * 40 + "." + "A" * 43,  # garbage
                   "not-a-token", f"{payload}.{signature}.extra"):
        refused = http(url(slack, forged))
        assert refused.status == 403, forged
        assert "This link doesn&#x27;t work" in refused.body and "Ce lien ne fonctionne pas" in refused.body
        for secret in ("Students", "Families", "Sees an ad", "Ana", "Spring journey"):
            assert secret not in refused.body
        assert refused.headers["Referrer-Policy"] == "no-referrer"
        posted = http(url(slack, forged), {"page": "1", f"verdict_{s.post_its['ad']}": "yes"})
        assert posted.status == 403
    assert answers(slack) == []
    assert any("link_invalid" in r.getMessage() for r in caplog.records)
    assert not any(token in r.getMessage() for r in caplog.records)
    french = http(url(slack, f"{payload}.{signature[:-2]}xx"),
                  headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"})
    assert french.body.index("Ce lien ne fonctionne pas") < french.body.index("This link")
    assert '<html lang="fr">' in french.body


def test_expired_and_revoked_links_get_a_clear_page(slack):
    s = seed(slack)
    with slack.services.uow(slack.team_id) as uow:
        bruno = uow.customers.get(s.customers["bruno"])
        old = customer_links.issue(bruno, slack.team_id, slack.settings.review_secret(),
                                   now=datetime.now(UTC) - timedelta(days=15))
        uow.commit()
    expired = http(url(slack, old))
    assert expired.status == 410
    assert '<html lang="fr">' in expired.body and "Ce lien a expiré" in expired.body
    assert "Students" not in expired.body
    # the clock moves past a valid link's expiry
    slack.services.clock = lambda: datetime.now(UTC) + timedelta(days=30)
    assert http(url(slack, s.tokens["ana"])).status == 410
    slack.services.clock = lambda: datetime.now(UTC)
    with slack.services.uow(slack.team_id) as uow:
        customer_links.revoke(uow.customers.get(s.customers["ana"]))
        uow.commit()
    revoked = http(url(slack, s.tokens["ana"]))
    assert revoked.status == 410 and "This link is no longer valid" in revoked.body
    posted = http(url(slack, s.tokens["ana"]), {"page": "1", f"verdict_{s.post_its['ad']}": "yes"})
    assert posted.status == 410 and answers(slack) == []


def test_pages_and_post_its_of_others_are_refused_and_nothing_is_saved(slack, caplog):
    s = seed(slack)
    caplog.set_level(logging.WARNING, logger="bot.review_pages")
    ana = s.tokens["ana"]
    for query in ("?page=6", "?page=0", "?page=-1", "?page=abc", "?page=99999999"):
        refused = http(url(slack, ana, query))
        assert refused.status == 403, query
        assert "This page isn&#x27;t part of your review" in refused.body
        assert "Families" not in refused.body and "Hears at school" not in refused.body
    # a post-it of another group's map (forged field name), a forged verdict, a bad id
    for form in ({"page": "1", f"verdict_{s.post_its['family']}": "yes"},
                 {"page": "1", f"verdict_{s.post_its['pain']}": "never"},  # not reviewed
                 {"page": "1", f"verdict_{s.post_its['pays']}": "yes"},    # on page 3
                 {"page": "1", f"verdict_{s.post_its['ad']}": "maybe"},
                 {"page": "1", "verdict_1 OR 1=1": "yes"},
                 {"page": "9", f"verdict_{s.post_its['ad']}": "yes"},
                 {f"verdict_{s.post_its['ad']}": "yes"}):
        refused = http(url(slack, ana), form)
        assert refused.status == 403, form
        assert "Hears at school" not in refused.body
    # Chloé (Families) cannot answer Students' post-its either
    refused = http(url(slack, s.tokens["chloe"]), {"page": "1", f"verdict_{s.post_its['ad']}": "yes"})
    assert refused.status == 403
    assert answers(slack) == [] and proposals(slack) == []
    assert any("not_your_map" in r.getMessage() for r in caplog.records)


def test_empty_corrections_and_oversize_text_get_inline_errors_and_nothing_is_saved(slack):
    s = seed(slack)
    ad, friends = s.post_its["ad"], s.post_its["friends"]
    reply = http(url(slack, s.tokens["ana"]), {
        "page": "1", f"verdict_{ad}": "yes", f"verdict_{friends}": "not_quite",
        f"correction_{friends}": "   ", "missing": "x" * (MAX_TEXT + 1),
        "feeling": "7", "feeling_text": "fine"})
    assert reply.status == 400
    body = reply.body
    assert 'role="alert"' in body and "There is a problem" in body
    assert f'href="#correction_{friends}"' in body and 'href="#missing"' in body
    assert 'href="#feeling"' in body
    assert (f'id="correction_{friends}" name="correction_{friends}" rows="3" '
            f'maxlength="{MAX_TEXT}" aria-invalid="true" '
            f'aria-describedby="correction_{friends}-hint correction_{friends}-error"') in body
    assert f'id="correction_{friends}-error">Tell us what it is like for you' in body
    assert f"{MAX_TEXT + 1} characters: please keep it under {MAX_TEXT}." in body
    # what the customer chose is still there
    assert re.search(rf'value="yes" id="verdict_{ad}_yes" checked', body)
    assert re.search(rf'value="not_quite" id="verdict_{friends}_not_quite" checked', body)
    assert ">fine</textarea>" in body
    assert answers(slack) == [] and proposals(slack) == []
    # a correction typed without an answer picked counts as "Not quite"
    ok = http(url(slack, s.tokens["ana"]), {"page": "1", f"correction_{friends}": "Asks mum"})
    assert ok.status == 303
    assert [(a.verdict, a.text) for a in answers(slack)] == [("not_quite", "Asks mum")]


def test_answers_after_the_review_closed_are_politely_refused_until_reopened(slack):
    s = seed(slack)
    ad = s.post_its["ad"]
    move_to(slack, s.workshop_id, "validation")
    assert http(url(slack, s.tokens["ana"]), {"page": "1", f"verdict_{ad}": "yes"}).status == 303
    move_to(slack, s.workshop_id, "consolidation")
    closed = http(url(slack, s.tokens["ana"]))
    assert closed.status == 403 and "The review is closed" in closed.body
    late = http(url(slack, s.tokens["ana"]), {
        "page": "1", f"verdict_{ad}": "not_quite", f"correction_{ad}": "Sees it on <b>TikTok</b>"})
    assert late.status == 403 and "The review is closed" in late.body
    assert "reopen" in late.body
    assert "Sees it on &lt;b&gt;TikTok&lt;/b&gt;" in late.body  # given back, not saved
    assert [a.verdict for a in answers(slack)] == ["yes"] and proposals(slack) == []
    reopen(slack, s.workshop_id, "customer_answer")
    assert http(url(slack, s.tokens["ana"]), {
        "page": "1", f"verdict_{ad}": "not_quite",
        f"correction_{ad}": "Sees it on TikTok"}).status == 303
    assert [a.verdict for a in answers(slack)] == ["not_quite"]


def test_requests_from_elsewhere_and_oversize_bodies_are_refused(slack):
    s = seed(slack)
    form = {"page": "1", f"verdict_{s.post_its['ad']}": "yes"}
    host = slack.server.url.split("//")[1]
    assert http(url(slack, s.tokens["ana"]), form,
                headers={"Origin": "https://evil.example"}).status == 403
    assert http(url(slack, s.tokens["ana"]), form,
                headers={"Origin": f"http://{host}"}).status == 303
    big = http(url(slack, s.tokens["ana"]), data=b"missing=" + b"x" * 70_000)
    assert big.status == 413 and "too long" in big.body
    many = http(url(slack, s.tokens["ana"]), {f"f{n}": "1" for n in range(600)})
    assert many.status == 413
    wrong = http(url(slack, s.tokens["ana"]), data=b'{"page": 1}',
                 headers={"Content-Type": "application/json"})
    assert wrong.status == 415
    assert http(url(slack, s.tokens["ana"]), method="DELETE").status == 405
    assert [a.verdict for a in answers(slack)] == ["yes"]


def test_nothing_to_review_yet(slack):
    s = seed(slack)
    with slack.services.db.sessions() as session:  # the Families map loses its groups
        session.query(CustomerAnswer).delete()
        from storage.models import WorkGroup

        session.get(WorkGroup, s.groups[1]).customer_type = "Pensioners"
        session.commit()
    empty = http(url(slack, s.tokens["chloe"]))
    assert empty.status == 200 and "Nothing to review yet" in empty.body
