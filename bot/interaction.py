"""One incoming Slack interaction, as the listeners see it: who, where, which language,
and how to answer privately."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from functools import cached_property

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks import section
from bot.i18n import has, language_of, t
from bot.services import Services
from storage import UnitOfWork
from workflows.problems import Problem, WorkshopError

log = logging.getLogger(__name__)


class Interaction:
    def __init__(self, services: Services, body: dict, client: WebClient, context,
                 respond=None) -> None:
        self.services = services
        self.body = body
        self.client = client
        self.context = context
        self.respond = respond

    @property
    def team_id(self) -> str:
        return self.context.team_id or self.body.get("team_id") or \
            (self.body.get("team") or {}).get("id")

    @property
    def enterprise_id(self) -> str | None:
        return self.context.enterprise_id

    @property
    def user_id(self) -> str:
        return self.context.user_id or self.body.get("user_id") or \
            (self.body.get("user") or {}).get("id")

    @property
    def channel_id(self) -> str | None:
        return self.context.channel_id

    def uow(self) -> UnitOfWork:
        return self.services.uow(self.team_id, self.enterprise_id)

    @cached_property
    def lang(self) -> str:
        """The user's Slack language (users.info, cached), else the default language."""
        return self.services.languages.language(self.client, self.team_id, self.user_id,
                                                self.services.settings.default_language)

    @property
    def locale(self) -> str | None:
        return self.services.languages.cached(self.team_id, self.user_id).get("locale")

    def tell(self, text: str, blocks: list[dict] | None = None) -> None:
        """Answer only this user, where they are: the command's response_url, else an
        ephemeral message in the channel, else a DM."""
        blocks = blocks or [section(text).to_dict()]
        if self.respond is not None:
            try:
                self.respond(text=text, blocks=blocks, response_type="ephemeral",
                             replace_original=False)
                return
            except Exception:  # noqa: BLE001 — an expired response_url: fall through
                log.info("response_url failed; falling back to an ephemeral message")
        if self.channel_id:
            try:
                self.client.chat_postEphemeral(channel=self.channel_id, user=self.user_id,
                                               text=text, blocks=blocks)
                return
            except SlackApiError:
                pass
        self.client.chat_postMessage(channel=self.user_id, text=text, blocks=blocks)

    def tell_problem(self, problem: Problem) -> None:
        key = f"error.{problem.code}"
        self.tell(t(key if has(key) else "error.generic", self.lang, **problem.params))


def background(services: Services) -> Callable:
    """Wrap a lazy listener `fn(interaction)`: build the Interaction, turn a WorkshopError
    into a private message in the user's language, and log anything unexpected."""

    def decorate(fn: Callable[[Interaction], None]):
        # Name and doc only: no __wrapped__, because Bolt unwraps listeners to decide
        # which arguments to pass, and it must see `run`'s own (body, client, ...).
        @functools.wraps(fn, updated=(), assigned=("__module__", "__name__", "__qualname__",
                                                   "__doc__"))
        def run(body, client, context, respond=None):
            interaction = Interaction(services, body, client, context, respond)
            try:
                fn(interaction)
            except WorkshopError as error:
                interaction.tell_problem(error.problem)
            except Exception:
                log.exception("background work for %s failed", fn.__name__)
                try:
                    interaction.tell(t("error.generic", interaction.lang))
                except Exception:  # noqa: BLE001
                    log.exception("could not tell the user about the failure")

        del run.__wrapped__  # set by functools.wraps in every case
        return run

    return decorate


def language_from_metadata(meta: dict, fallback: str) -> str:
    return language_of(meta.get("lang"), fallback)
