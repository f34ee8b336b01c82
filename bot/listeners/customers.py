"""Day 2 listeners: `/journey customers`, the customer modal, the customers' Review modal
(one page per submission, saved before the ack), the facilitator's progress buttons, and the
groups' customer-feedback modal (accept / reject).

Every id that comes back from Slack (button values, private_metadata, block ids) is checked
again on the server: a customer reaches only their own pages, a facilitator only their
workshop's customers, a group member only their group's proposals. A forged one is refused
with a message that reveals nothing, and logged.
"""

from __future__ import annotations

import functools
import json
import logging

from slack_bolt import Ack, App, BoltContext

from bot.blocks import form_values, read_metadata
from bot.customer_blocks import (
    closing_view,
    customer_name,
    customers_view,
    feedback_view,
    review_view,
)
from bot.customer_review import invite, post_progress, remind, review_url
from bot.i18n import SUPPORTED_LANGUAGES, t
from bot.ids import Action, Callback
from bot.interaction import Interaction, background
from bot.listeners.views import submit
from bot.services import Services
from storage.models import Role
from workflows import customer_links
from workflows.board import ensure_stages, seat_for
from workflows.problems import Forbidden, Invalid, NotFound, WorkshopError
from workflows.schedule import gate
from workflows.validation import (
    CustomerDraft,
    PageAnswers,
    add_customers,
    customer_types_of,
    decide,
    managed_customer,
    own_customer,
    page_of,
    parse_web_customers,
    proposals,
    resume_at,
    save_page,
)
from workflows.validation import coverage as coverage_of
from workflows.workshops import require_role, workshop_for

log = logging.getLogger(__name__)

PROGRESS_WORDS = ("progress", "status", "suivi", "avancement")
REVIEW_PROBLEMS = {"text_too_long": "creview.too_long",
                   "correction_required": "creview.correction_required",
                   "score_range": "creview.score_range"}


def _value(i: Interaction) -> str:
    return (i.body.get("actions") or [{}])[0].get("value") or ""


def _number(text: str) -> int:
    if not text.isdigit():
        raise Forbidden("not_your_map")  # only a forged value is not a number
    return int(text)


def logged(fn):
    """Log every refusal of a forged or foreign id before the user is told."""

    @functools.wraps(fn)
    def run(i: Interaction) -> None:
        try:
            fn(i)
        except Forbidden as refused:
            action = (i.body.get("actions") or [{}])[0].get("action_id") or i.body.get("type")
            log.warning("refused %s to %s (%s): value %r", action, i.user_id, refused.code,
                        _value(i)[:100])
            raise

    return run


# --- the facilitator -----------------------------------------------------------------------


def open_customers(i: Interaction, rest: str) -> None:
    """`/journey customers` opens the modal; `/journey customers progress` posts the
    progress (both for facilitators only)."""
    with i.uow() as uow:
        workshop = workshop_for(uow, i.user_id, i.channel_id, Role.FACILITATOR)
        workshop_id = workshop.id
        view = customers_view(workshop, customer_types_of(uow, workshop.id), i.lang)
    if rest.strip().lower() in PROGRESS_WORDS:
        post_progress(i.services, i.client, i.team_id, workshop_id, i.user_id, i.lang)
        return
    i.client.views_open(trigger_id=i.body["trigger_id"], view=view)


def _container(i: Interaction) -> tuple[str, str] | None:
    container = i.body.get("container") or {}
    if container.get("type") == "message" and container.get("channel_id"):
        return container["channel_id"], container["message_ts"]
    return None


def register(app: App, services: Services) -> None:
    default = services.settings.default_language

    def acknowledge(ack: Ack) -> None:
        ack()

    # --- registering customers --------------------------------------------------------------
    def accept_customers(ack: Ack, body: dict, view: dict, context: BoltContext) -> None:
        def add(uow, meta, values, lang):
            users = [u for u in values.get("users") or [] if u != context.bot_user_id]
            web = parse_web_customers(values.get("web"))
            language = values.get("language") or lang
            common = {"customer_type": values.get("customer_type") or "",
                      "channel_focus": values.get("channel_focus"), "language": language}
            drafts = [CustomerDraft(user_id=u, **common) for u in users] + \
                [CustomerDraft(name=n, email=e, **common) for n, e in web]
            added, existing = add_customers(uow, int(meta["w"]), context.user_id, drafts)
            context["customers"] = {"w": int(meta["w"]), "lang": lang, "added": len(added),
                                    "existing": len(existing)}

        submit(services, ack, body, view, context, add, "users")

    @background(services)
    def after_customers(i: Interaction) -> None:
        done = i.context.get("customers")
        if done:
            post_progress(services, i.client, i.team_id, done["w"], i.user_id, done["lang"],
                          notice=t("customers.added", done["lang"], added=done["added"],
                                   existing=done["existing"]))

    app.view(Callback.CUSTOMERS.value)(ack=accept_customers, lazy=[after_customers])

    @background(services)
    @logged
    def open_add(i: Interaction) -> None:
        with i.uow() as uow:
            workshop = require_role(uow, _number(_value(i)), i.user_id, Role.FACILITATOR)
            view = customers_view(workshop, customer_types_of(uow, workshop.id), i.lang)
        i.client.views_open(trigger_id=i.body["trigger_id"], view=view)

    app.action(Action.CUSTOMERS_ADD.value)(ack=acknowledge, lazy=[open_add])

    def refresh_progress(i: Interaction, workshop_id: int, notice: str, links=None,
                         emailed=None) -> None:
        post_progress(services, i.client, i.team_id, workshop_id, i.user_id, i.lang,
                      notice=notice, links=links, emailed=emailed, replace=_container(i))

    @background(services)
    @logged
    def remind_one(i: Interaction) -> None:
        with i.uow() as uow:
            customer = managed_customer(uow, _number(_value(i)), i.user_id)
            workshop_id = customer.workshop_id
        reached, links = remind(services, i.client, i.team_id, workshop_id,
                                ids=[_number(_value(i))])
        refresh_progress(i, workshop_id, t("customers.reminded", i.lang, n=reached),
                         links=links)

    app.action(Action.CUSTOMERS_REMIND.value)(ack=acknowledge, lazy=[remind_one])

    @background(services)
    @logged
    def remind_all(i: Interaction) -> None:
        workshop_id = _number(_value(i))
        with i.uow() as uow:
            require_role(uow, workshop_id, i.user_id, Role.FACILITATOR)
        reached, links = remind(services, i.client, i.team_id, workshop_id)
        refresh_progress(i, workshop_id, t("customers.reminded", i.lang, n=reached),
                         links=links)

    app.action(Action.CUSTOMERS_REMIND_ALL.value)(ack=acknowledge, lazy=[remind_all])

    @background(services)
    @logged
    def invite_now(i: Interaction) -> None:
        workshop_id = _number(_value(i))
        with i.uow() as uow:
            require_role(uow, workshop_id, i.user_id, Role.FACILITATOR)
            gate(uow, workshop_id, "customer_answer")  # not once validation has closed
        reached, links = invite(services, i.client, i.team_id, workshop_id)
        refresh_progress(i, workshop_id, t("customers.invited", i.lang, n=reached),
                         links=links)

    app.action(Action.CUSTOMERS_INVITE.value)(ack=acknowledge, lazy=[invite_now])

    @background(services)
    @logged
    def revoke(i: Interaction) -> None:
        with services.db.writing(), i.uow() as uow:
            customer = managed_customer(uow, _number(_value(i)), i.user_id)
            if customer.user_id:
                raise NotFound("customer_not_found")  # Slack customers have no link
            customer_links.revoke(customer)
            who, workshop_id = customer_name(customer, i.lang), customer.workshop_id
            uow.commit()
        refresh_progress(i, workshop_id, t("customers.revoked", i.lang, who=who))

    app.action(Action.CUSTOMERS_REVOKE.value)(ack=acknowledge, lazy=[revoke])

    @background(services)
    @logged
    def new_link(i: Interaction) -> None:
        with services.db.writing(), i.uow() as uow:
            customer = managed_customer(uow, _number(_value(i)), i.user_id)
            if customer.user_id:
                raise NotFound("customer_not_found")
            url = review_url(services, customer, i.team_id)
            who, workshop_id, customer_id = (customer_name(customer, i.lang),
                                             customer.workshop_id, customer.id)
            uow.commit()
        refresh_progress(i, workshop_id, t("customers.new_link_done", i.lang, who=who, url=url),
                         links={customer_id: url})

    app.action(Action.CUSTOMERS_NEW_LINK.value)(ack=acknowledge, lazy=[new_link])

    # --- the customer: Review ----------------------------------------------------------------
    @background(services)
    @logged
    def open_review(i: Interaction) -> None:
        with i.uow() as uow:
            customer = own_customer(uow, _number(_value(i)), i.user_id)
            lang = customer.language
            try:
                gate(uow, customer.workshop_id, "customer_answer")
                view = review_view(customer, page_of(uow, customer, resume_at(uow, customer)),
                                   lang)
            except (NotFound, WorkshopError) as problem:
                if isinstance(problem, Forbidden):
                    raise
                i.tell(t(f"error.{problem.code}", lang))
                return
        i.client.views_open(trigger_id=i.body["trigger_id"], view=view)

    app.action(Action.CUSTOMER_REVIEW.value)(ack=acknowledge, lazy=[open_review])

    def page_answers(values: dict) -> PageAnswers:
        verdicts: dict[int, tuple[str | None, str | None]] = {}
        for key, value in values.items():
            kind, _, number = key.partition("_")
            if kind not in ("verdict", "correction") or not number.isdigit():
                continue
            verdict, correction = verdicts.get(int(number), (None, None))
            verdicts[int(number)] = (value, correction) if kind == "verdict" else \
                (verdict, value)
        feeling = values.get("feeling")
        try:
            score = int(feeling) if feeling not in (None, "") else None
        except ValueError:
            raise Forbidden("not_your_map") from None
        return PageAnswers(verdicts, values.get("missing"), score, values.get("feeling_text"))

    def accept_review(ack: Ack, body: dict, view: dict, context: BoltContext) -> None:
        meta = read_metadata(view)
        lang = meta.get("lang") if meta.get("lang") in SUPPORTED_LANGUAGES else default
        try:
            with services.db.writing(), \
                    services.uow(context.team_id or body["team"]["id"],
                                 context.enterprise_id) as uow:
                try:
                    customer_id, index = int(meta["c"]), int(meta["i"])
                except (KeyError, TypeError, ValueError):
                    raise Forbidden("not_your_map") from None
                customer = own_customer(uow, customer_id, context.user_id)
                lang = customer.language
                page = page_of(uow, customer, index)
                following = save_page(uow, customer, index, page_answers(form_values(view)),
                                      now=services.clock())
                uow.commit()
                context["boards"] = [page.group_id]
                if following is None:
                    answer = closing_view(t("creview.done", lang), lang)
                else:
                    answer = review_view(customer, page_of(uow, customer, following), lang)
        except Invalid as invalid:
            ack(response_action="errors", errors={
                field: t(REVIEW_PROBLEMS.get(p.code, f"problem.{p.code}"), lang, **p.params)
                for field, p in invalid.fields.items()})
            return
        except Forbidden as refused:
            log.warning("refused a review page to %s (%s): metadata %r", context.user_id,
                        refused.code, (view.get("private_metadata") or "")[:200])
            ack(response_action="update", view=closing_view(t("creview.refused", lang), lang))
            return
        except WorkshopError as error:
            text = t("creview.closed", lang) if error.code in (
                "validation_closed", "workshop_done") else t(f"error.{error.code}", lang)
            ack(response_action="update", view=closing_view(text, lang))
            return
        ack(response_action="update", view=answer)

    @background(services)
    def after_review(i: Interaction) -> None:
        for group_id in i.context.get("boards") or []:
            services.refresh_board(i.client, i.team_id, group_id)

    app.view(Callback.CUSTOMER_REVIEW.value)(ack=accept_review, lazy=[after_review])

    # --- the group: customer feedback ---------------------------------------------------------
    def feedback(uow, group, lang: str, notice: str | None = None) -> dict:
        stages = {s.id: s for s in ensure_stages(uow, group)}
        items = [(p, uow.board.post_it(p.corrects_id) if p.corrects_id else None,
                  stages.get(p.stage_id)) for p in proposals(uow, group)]
        return feedback_view(group, items, coverage_of(uow, group), lang, notice=notice)

    @background(services)
    @logged
    def open_feedback(i: Interaction) -> None:
        with i.uow() as uow:
            seat = seat_for(uow, i.user_id, None, group_id=_number(_value(i)))
            view = feedback(uow, seat.group, i.lang)
        i.client.views_open(trigger_id=i.body["trigger_id"], view=view)

    app.action(Action.FEEDBACK_OPEN.value)(ack=acknowledge, lazy=[open_feedback])

    def deciding(accept: bool):
        @background(services)
        @logged
        def decide_one(i: Interaction) -> None:
            try:
                target = json.loads(_value(i))
                post_it_id, group_id = int(target["p"]), int(target["g"])
            except (ValueError, KeyError, TypeError):
                raise Forbidden("not_allowed") from None
            notice = None
            with services.db.writing(), i.uow() as uow:
                seat = seat_for(uow, i.user_id, None, group_id=group_id)
                try:
                    decide(uow, seat, post_it_id, accept=accept)
                    uow.commit()
                    notice = t("feedback.accepted" if accept else "feedback.rejected", i.lang)
                except (Forbidden, Invalid):
                    raise
                except WorkshopError as error:
                    uow.rollback()
                    if isinstance(error, NotFound):
                        log.warning("refused a decision to %s: post-it %s of group %s",
                                    i.user_id, post_it_id, group_id)
                    notice = "⚠️ " + t(f"error.{error.code}", i.lang)
                view = feedback(uow, seat.group, i.lang, notice)
            i.client.views_update(view_id=i.body["view"]["id"], view=view)
            services.refresh_board(i.client, i.team_id, group_id)

        return decide_one

    app.action(Action.FEEDBACK_ACCEPT.value)(ack=acknowledge, lazy=[deciding(True)])
    app.action(Action.FEEDBACK_REJECT.value)(ack=acknowledge, lazy=[deciding(False)])


