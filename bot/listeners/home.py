"""App Home: where you stand, and a button to create a workshop."""

from __future__ import annotations

from slack_bolt import App
from slack_sdk.models.blocks import ActionsBlock, ButtonElement, HeaderBlock
from slack_sdk.models.views import View

from bot.blocks import help_blocks, status_blocks
from bot.i18n import t
from bot.ids import Action
from bot.interaction import Interaction
from bot.services import Services
from workflows.workshops import standings


def home_view(i: Interaction) -> dict:
    with i.uow() as uow:
        status = status_blocks(standings(uow, i.user_id), i.lang)
    blocks = [HeaderBlock(text="journeybot").to_dict(), *status,
              ActionsBlock(elements=[ButtonElement(
                  text=t("new.title", i.lang), action_id=Action.OPEN_NEW_WORKSHOP.value,
                  style="primary")]).to_dict(),
              *help_blocks(i.lang)]
    return View(type="home", blocks=blocks).to_dict()


def publish_home(i: Interaction) -> None:
    i.client.views_publish(user_id=i.user_id, view=home_view(i))


def register(app: App, services: Services) -> None:
    """App Home is published from the app_home_opened event (see events.py)."""
