"""Journey maps, leadership summaries and exports, posted back to Slack.

Rendering is slow (matplotlib), so everything here runs after the ack, on the worker pool.
Uploads use files upload v2 with alt text; a failed upload is retried, and what still fails
is reported to the facilitator with a Retry button — never dropped silently.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import date

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks import button_message, department_label, focus_label, message, section
from bot.board_blocks import stage_label
from bot.group_blocks import focus_text
from bot.i18n import CATALOG, t
from bot.ids import Action
from bot.services import Services
from bot.text import escape, plain
from workflows.board import KINDS
from workflows.exports import export_rows, to_csv, to_json
from workflows.summary import summarise
from workflows.workshops import get_workshop

log = logging.getLogger(__name__)
UPLOAD_TRIES = 3


def map_labels(lang: str):
    """Every word drawn on a map, from the catalog (a `workflows.rendering.MapLabels`).

    matplotlib is imported on first use, not at start-up: a bot that hasn't drawn a map
    yet stays ~45 MiB lighter."""
    from workflows.rendering import MapLabels

    def group(name: str, keys) -> dict[str, str]:
        return {k: t(f"map.{name}.{k}", lang) for k in keys if f"map.{name}.{k}" in CATALOG}

    scalars = {key.removeprefix("map."): t(key, lang) for key in CATALOG
               if key.startswith("map.") and key.count(".") == 1 and key != "map.months"}
    channels = {key.removeprefix("channel."): t(key, lang) for key in CATALOG
                if key.startswith("channel.")}
    return MapLabels(
        lanes=group("lanes", KINDS), versions=group("versions", ("hypothetical", "validated")),
        marks=group("marks", ("confirmed", "corrected", "new", "rejected")),
        mark_counts=group("mark_counts", ("confirmed", "corrected", "new", "rejected")),
        channels=channels, months=tuple(t("map.months", lang).split(",")), **scalars)


def group_map(services: Services, client: WebClient, team_id: str, group_id: int, *,
              version: str, lang: str):
    """(group number, channel, JourneyMap) for one group, authors named from Slack."""
    from workflows.journey_maps import journey_map

    def author(user_id: str) -> str | None:
        return services.languages.profile(client, team_id, user_id).get("name") or None

    with services.uow(team_id) as uow:
        group = uow.board.group(group_id)
        the_map = journey_map(
            uow, group, version=version, made_on=date.today(),
            stage_name=lambda stage: stage_label(stage, lang),
            group_label=t("groups.edit.group_option", lang, number=group.number),
            focus_label=lambda f: focus_label(f, lang) if f else None, author_name=author)
        return group.number, group.channel_id, group.customer_type, group.channel_focus, \
            the_map


def _upload(client: WebClient, **kwargs) -> None:
    """files upload v2, tried UPLOAD_TRIES times (429s are waited out by the client)."""
    for attempt in range(1, UPLOAD_TRIES + 1):
        try:
            client.files_upload_v2(**kwargs)
            return
        except SlackApiError:
            if attempt == UPLOAD_TRIES:
                raise
            time.sleep(0.2 * 2 ** attempt)


def publish_maps(services: Services, client: WebClient, team_id: str, workshop_id: int, *,
                 version: str = "hypothetical", facilitator: str | None = None,
                 only: list[int] | None = None) -> list[int]:
    """Render every group's map and post it to the group channel and the workshop channel.
    Returns the groups that failed (the facilitator is told, with a Retry button)."""
    from workflows.rendering import alt_text, render_map

    with services.uow(team_id) as uow:
        workshop = get_workshop(uow, workshop_id)
        lang, workshop_channel = workshop.language, workshop.channel_id
        groups = [g.id for g in uow.groups.groups(workshop_id)
                  if g.channel_id and (only is None or g.id in only)]
        facilitator = facilitator or workshop.created_by
    if not groups:
        client.chat_postMessage(channel=facilitator, text=t("maps.none", lang))
        return []
    labels = map_labels(lang)
    version_label = t(f"map.versions.{version}", lang)
    progress = client.chat_postMessage(channel=facilitator, text=t(
        "maps.publishing", lang, version=version_label.lower(), done=0, total=len(groups)))
    failed: list[tuple[int, int, str]] = []
    for done, group_id in enumerate(groups, start=1):
        number, channel, customer_type, channel_focus, the_map = group_map(
            services, client, team_id, group_id, version=version, lang=lang)
        image = render_map(the_map, labels, fmt="png")
        title = t("maps.posted", lang, version=version_label, number=number,
                  focus=focus_text(customer_type, channel_focus, lang))
        try:
            _upload(client, file=image, filename=f"journey-map-group-{number}-{version}.png",
                    title=plain(title, 250), alt_txt=alt_text(the_map, labels)[:1000],
                    channels=[channel, workshop_channel], initial_comment=title)
        except SlackApiError as error:
            log.warning("map of group %s not posted: %s", number, error.response.get("error"))
            failed.append((group_id, number, error.response.get("error") or "unknown"))
        client.chat_update(channel=progress["channel"], ts=progress["ts"], text=t(
            "maps.publishing", lang, version=version_label.lower(), done=done,
            total=len(groups)))
    if failed:
        text = "\n".join(t("maps.failed", lang, number=n, error=e) for _, n, e in failed)
        client.chat_postMessage(channel=facilitator, text=text, blocks=button_message(
            text, label=t("groups.retry", lang), action=Action.MAPS_RETRY,
            value=json.dumps({"w": workshop_id, "v": version, "g": [g for g, _, _ in failed]})))
    return [g for g, _, _ in failed]


def summary_blocks(summary, lang: str) -> list[dict]:
    def ranked(items) -> str:
        return "\n".join(t("summary.item", lang, text=escape(plain(r.text, 200)), votes=r.votes,
                           group=r.group, stage=escape(r.stage)) for r in items) \
            or t("summary.none", lang)

    participation = ", ".join(f"{escape(department_label(d, lang))} {n}"
                              for d, n in summary.participation.most_common())
    groups = "; ".join(f"{n}. {focus_text(ct, cf, lang)} ({people})"
                       for n, ct, cf, people, _ in summary.groups) or t("summary.none", lang)
    parts = [f"*{escape(t('summary.title', lang, name=summary.workshop))}*"]
    if summary.objectives:
        parts.append(t("summary.objectives", lang) + "\n" + "\n".join(
            t("kickoff.objective", lang, text=escape(o), kpi=escape(k))
            for o, k in summary.objectives))
    parts.append(t("summary.participation", lang, total=sum(summary.participation.values()),
                   departments=len(summary.participation), by_department=participation))
    parts.append(t("summary.groups", lang, items=groups))
    pains = "\n".join(f"_{escape(stage)}_\n{ranked(items)}"
                      for stage, items in summary.top_pains.items())
    parts.append(t("summary.pains", lang) + "\n" + (pains or t("summary.none", lang)))
    parts.append(t("summary.opportunities", lang) + "\n" + ranked(summary.opportunities))
    lowest = "\n".join(t("summary.lowest_line", lang, customer_type=escape(c), stage=escape(s),
                         score=f"{m:+.1f}") for c, s, m in summary.lowest_moments)
    parts.append(t("summary.lowest", lang) + "\n" + (lowest or t("summary.none", lang)))
    parts.append(t("summary.validation", lang, state=t("summary.validation.pending", lang)))
    parts.append(t("summary.next", lang))
    return message([section(p) for p in parts])


def post_summary(services: Services, client: WebClient, team_id: str, workshop_id: int, *,
                 requested_by: str | None = None) -> list[str]:
    """DM the leadership summary (text + participation chart) to every leadership member
    and to whoever asked. Returns the recipients."""
    with services.uow(team_id) as uow:
        workshop = get_workshop(uow, workshop_id)
        lang = workshop.language
        summary = summarise(uow, workshop_id, stage_name=lambda s: stage_label(s, lang))
        leaders = [p.user_id for p in workshop.people if p.role == "leadership"]
    from workflows.rendering import render_participation

    blocks = summary_blocks(summary, lang)
    text = t("summary.title", lang, name=summary.workshop)
    chart = render_participation(
        {department_label(d, lang): n for d, n in summary.participation.items()},
        t("summary.chart", lang), empty=t("map.empty", lang))
    recipients = list(dict.fromkeys(leaders + ([requested_by] if requested_by else [])))
    for user in recipients:
        dm = client.conversations_open(users=user)["channel"]["id"]
        client.chat_postMessage(channel=dm, text=text, blocks=blocks)
        _upload(client, file=chart, filename="participation.png", title=t("summary.chart", lang),
                alt_txt=t("summary.chart", lang), channel=dm)
    if requested_by:
        where = ", ".join(f"<@{u}>" for u in leaders) if leaders else None
        client.chat_postMessage(channel=requested_by, text=t(
            "summary.sent", lang, where=where) if where else t("summary.no_leadership", lang))
    return recipients


def export_workshop(services: Services, client: WebClient, team_id: str, workshop_id: int, *,
                    by: str) -> None:
    """CSV + JSON of every post-it and the PDF of every group's map, DMed to the facilitator."""
    with services.uow(team_id) as uow:
        workshop = get_workshop(uow, workshop_id)
        lang, name = workshop.language, workshop.name
        rows = export_rows(uow, workshop_id, by=by, stage_name=lambda s: stage_label(s, lang))
        groups = [g.id for g in uow.groups.groups(workshop_id)]
    dm = client.conversations_open(users=by)["channel"]["id"]
    client.chat_postMessage(channel=dm, text=t("export.done", lang, name=escape(name)))
    _upload(client, content=to_csv(rows), filename="post-its.csv", title="post-its.csv",
            channel=dm)
    _upload(client, content=to_json(rows), filename="post-its.json", title="post-its.json",
            channel=dm)
    from workflows.rendering import render_map

    labels = map_labels(lang)
    for group_id in groups:
        number, *_rest, the_map = group_map(services, client, team_id, group_id,
                                            version="hypothetical", lang=lang)
        _upload(client, file=render_map(the_map, labels, fmt="pdf"),
                filename=f"journey-map-group-{number}.pdf", title=f"journey-map-group-{number}",
                channel=dm)


def install_map_effects(services: Services) -> None:
    """What the schedule does at the end of each day (see workflows.phases hooks)."""

    def maps(version: str):
        def publish(event) -> None:
            publish_maps(event.services, event.client, event.team_id, event.workshop_id,
                         version=version)
        return publish

    def summary(event) -> None:
        post_summary(event.services, event.client, event.team_id, event.workshop_id)

    services.phase_effects.update({
        "render_hypothetical_maps": maps("hypothetical"),
        "render_validated_maps": maps("validated"),
        "post_leadership_digest": summary,
        "post_leadership_summary": summary,
    })
