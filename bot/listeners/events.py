"""Events API subscriptions."""

from __future__ import annotations

from slack_bolt import Ack, App

from bot.interaction import Interaction, background
from bot.listeners.home import publish_home
from bot.services import Services


def register(app: App, services: Services) -> None:
    def acknowledge(ack: Ack) -> None:
        ack()

    @background(services)
    def home_opened(i: Interaction) -> None:
        if (i.body.get("event") or {}).get("tab") == "home":
            publish_home(i)

    app.event("app_home_opened")(ack=acknowledge, lazy=[home_opened])
