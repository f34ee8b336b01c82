"""Every listener is registered here, one module per Slack surface."""

from slack_bolt import App

from bot.listeners import actions, commands, customers, events, home, schedule, shortcuts, views
from bot.listeners import owners as owners_listeners
from bot.services import Services


def register(app: App, services: Services) -> None:
    for surface in (commands, views, actions, shortcuts, events, home, schedule,
                    customers):
        surface.register(app, services)
    owners_listeners.register(app, services)
