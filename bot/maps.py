"""Journey maps, leadership summaries and exports, posted back to Slack.

Rendering is slow (matplotlib), so everything here runs after the ack, on the worker pool.
Uploads use files upload v2 with alt text; a failed upload is retried, and what still fails
is reported to the facilitator with a Retry button — never dropped silently.

- `publish_maps`: every group's map (hypothetical after day 1, validated after day 2) to its
  group channel and the workshop channel; after day 2 also the comparison views (what
  customers changed per group, one customer type across channel focuses side by side, the
  emotion curves of every group overlaid).
- `post_summary`: the leadership summary, posted to the leadership channel chosen at set-up
  (the bot joins it if it is public) or DMed to leadership members when there is none.
- `export_workshop`: CSV, JSON and the PDF of every map, DMed to a facilitator.
- `install_map_effects`: what the schedule does at the end of each day, and the owners'
  hooks of the follow-up.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import date

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks import button_message, department_label, focus_label, message, section
from bot.board_blocks import stage_label
from bot.group_blocks import focus_text
from bot.i18n import CATALOG, language_of, t
from bot.ids import Action
from bot.services import Services
from bot.text import escape, plain
from workflows.board import KINDS
from workflows.exports import export_rows, to_csv, to_json
from workflows.owners import is_slack_user, owned_by
from workflows.publication import comparison_views, lowest_stage, mark_counts
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




@dataclass(frozen=True)
class _Group:
    id: int
    number: int
    channel: str
    customer_type: str | None
    channel_focus: str | None


def publish_maps(services: Services, client: WebClient, team_id: str, workshop_id: int, *,
                 version: str = "hypothetical", facilitator: str | None = None,
                 only: list[int] | None = None, views: list[str] | None = None) -> list:
    """Render every group's map and post it to the group channel and the workshop channel;
    for the validated maps, then the comparison views (`comparison_views`). `only`: the
    groups whose map to post (None: all); `views`: the comparison views to post (None: all
    of them for a validated publication of every group, none otherwise). Progress goes to
    the facilitator; what fails after `UPLOAD_TRIES` tries is reported with a Retry button
    that posts only what is missing. Returns what failed (group ids and view keys)."""
    from workflows.rendering import alt_text, render_map

    with services.uow(team_id) as uow:
        workshop = get_workshop(uow, workshop_id)
        lang, workshop_channel = workshop.language, workshop.channel_id
        every = [_Group(g.id, g.number, g.channel_id, g.customer_type, g.channel_focus)
                 for g in uow.groups.groups(workshop_id) if g.channel_id]
        facilitator = facilitator or workshop.created_by
    groups = [g for g in every if only is None or g.id in only]
    if views is None:
        views = comparison_views(every) if version == "validated" and only is None else []
    if not groups and not views:
        client.chat_postMessage(channel=facilitator, text=t("maps.none", lang))
        return []
    labels = map_labels(lang)
    version_label = t(f"map.versions.{version}", lang)
    maps: dict[tuple[int, str], object] = {}

    def the_map(group_id: int, which: str):
        if (group_id, which) not in maps:
            maps[(group_id, which)] = group_map(services, client, team_id, group_id,
                                                version=which, lang=lang)[-1]
        return maps[(group_id, which)]

    total = len(groups) + len(views)

    def progress_text(done: int) -> str:
        text = t("maps.publishing", lang, version=t(f"maps.plural.{version}", lang),
                 done=min(done, len(groups)), total=len(groups))
        if views:
            text += "\n" + t("maps.publishing_views", lang, done=max(0, done - len(groups)),
                             total=len(views))
        return text

    progress = client.chat_postMessage(channel=facilitator, text=progress_text(0))
    failed_groups: list[tuple[int, int, str]] = []
    failed_views: list[tuple[str, str, str]] = []
    done = 0
    for group in groups:
        drawn = the_map(group.id, version)
        image = render_map(drawn, labels, fmt="png")
        title = t("maps.posted", lang, version=version_label, number=group.number,
                  focus=focus_text(group.customer_type, group.channel_focus, lang))
        try:
            _upload(client, file=image,
                    filename=f"journey-map-group-{group.number}-{version}.png",
                    title=plain(title, 250), alt_txt=alt_text(drawn, labels)[:1000],
                    channels=[group.channel, workshop_channel], initial_comment=title)
        except SlackApiError as error:
            log.warning("map of group %s not posted: %s", group.number,
                        error.response.get("error"))
            failed_groups.append((group.id, group.number, error.response.get("error")
                                  or "unknown"))
        done += 1
        client.chat_update(channel=progress["channel"], ts=progress["ts"],
                           text=progress_text(done))
    by_id = {g.id: g for g in every}
    for key in views:
        view = _comparison(key, by_id, the_map, labels, lang, workshop_channel)
        if view is not None:
            try:
                _upload(client, **view)
            except SlackApiError as error:
                log.warning("%s not posted: %s", key, error.response.get("error"))
                failed_views.append((key, view["title"], error.response.get("error")
                                     or "unknown"))
        done += 1
        client.chat_update(channel=progress["channel"], ts=progress["ts"],
                           text=progress_text(done))
    if failed_groups or failed_views:
        text = "\n".join(
            [t("maps.failed", lang, number=n, error=e) for _, n, e in failed_groups]
            + [t("maps.view_failed", lang, what=escape(what), error=e)
               for _, what, e in failed_views])
        client.chat_postMessage(channel=facilitator, text=text, blocks=button_message(
            text, label=t("groups.retry", lang), action=Action.MAPS_RETRY,
            value=json.dumps({"w": workshop_id, "v": version,
                              "g": [g for g, _, _ in failed_groups],
                              "c": [k for k, _, _ in failed_views]})))
    log.info("published %s of %s maps and views of workshop %s", total - len(failed_groups)
             - len(failed_views), total, workshop_id)
    return [g for g, _, _ in failed_groups] + [k for k, _, _ in failed_views]


def _comparison(key: str, groups: dict[int, _Group], the_map, labels, lang: str,
                workshop_channel: str) -> dict | None:
    """The upload (file, name, title, alt text, channels) of one comparison view; None when
    its groups are gone."""
    from workflows.rendering import (
        render_comparison,
        render_emotion_overlay,
        render_side_by_side,
    )

    kind, _, rest = key.partition(":")
    if kind == "compare" and rest.isdigit() and int(rest) in groups:
        group = groups[int(rest)]
        hypothetical, validated = the_map(group.id, "hypothetical"), the_map(group.id,
                                                                             "validated")
        counts = mark_counts(validated)
        title = t("maps.comparison_posted", lang, number=group.number,
                  focus=focus_text(group.customer_type, group.channel_focus, lang))
        alt = t("maps.alt.comparison", lang, number=group.number,
                confirmed=counts["confirmed"], corrected=counts["corrected"],
                rejected=counts["rejected"], new=counts["new"],
                unreviewed=counts["unreviewed"])
        return {"file": render_comparison(hypothetical, validated, labels,
                                          kinds=("step", "touchpoint")),
                "filename": f"comparison-group-{group.number}.png",
                "title": plain(title, 250), "alt_txt": alt[:1000], "initial_comment": title,
                "channels": [group.channel, workshop_channel]}
    if kind == "side":
        members = [groups[int(i)] for i in rest.split(",") if i.isdigit() and int(i) in groups]
        if len(members) < 2:
            return None
        customer_type = members[0].customer_type or ""
        focuses = ", ".join(focus_label(g.channel_focus, lang) if g.channel_focus
                            else t("groups.no_focus", lang) for g in members)
        title = t("maps.side_by_side_posted", lang, customer_type=escape(customer_type),
                  groups=", ".join(str(g.number) for g in members))
        alt = t("maps.alt.side_by_side", lang, customer_type=customer_type,
                count=len(members), focuses=focuses)
        numbers = "-".join(str(g.number) for g in members)
        return {"file": render_side_by_side([the_map(g.id, "validated") for g in members],
                                            labels),
                "filename": f"side-by-side-groups-{numbers}.png", "title": plain(title, 250),
                "alt_txt": alt[:1000], "initial_comment": title,
                "channels": [workshop_channel, *(g.channel for g in members)]}
    if kind == "overlay" and len(groups) >= 2:
        ordered = sorted(groups.values(), key=lambda g: g.number)
        drawn = [(g, the_map(g.id, "validated")) for g in ordered]
        lows = []
        for g, m in drawn:
            low = lowest_stage(m)
            if low:
                lows.append(t("maps.alt.overlay_lowest", lang, number=g.number, stage=low[0],
                              score=f"{low[1]:+.1f}"))
        title = t("maps.overlay_posted", lang, count=len(drawn))
        alt = t("maps.alt.overlay", lang, count=len(drawn)) + " " + " ".join(lows)
        return {"file": render_emotion_overlay([m for _, m in drawn], labels),
                "filename": "emotion-overlay.png", "title": plain(title, 250),
                "alt_txt": alt.strip()[:1000], "initial_comment": title,
                "channels": [workshop_channel]}
    return None


def owner_text(owner: str | None, lang: str) -> str:
    if not owner:
        return t("summary.no_owner", lang)
    return t("summary.owner", lang, owner=f"<@{owner}>" if is_slack_user(owner)
             else escape(owner))


def summary_blocks(summary, lang: str) -> list[dict]:
    def line(r) -> str:
        return t("summary.item", lang, text=escape(plain(r.text, 200)), votes=r.votes,
                 group=r.group, stage=escape(r.stage))

    def ranked(items, *, owners: bool = False) -> str:
        return "\n".join(line(r) + (owner_text(r.owner, lang) if owners else "")
                         for r in items) or t("summary.none", lang)

    def lowest(rows) -> str:
        return "\n".join(t("summary.lowest_line", lang, customer_type=escape(c),
                           stage=escape(s), score=f"{m:+.1f}") for c, s, m in rows)

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
    opportunities = t("summary.opportunities", lang) + "\n" + ranked(summary.opportunities,
                                                                     owners=True)
    if summary.opportunities_total:
        opportunities += "\n" + t("summary.owned", lang, owned=summary.owned,
                                  total=summary.opportunities_total)
    parts.append(opportunities)
    if summary.validated:
        rows = [t("summary.validation.none", lang, number=v.group,
                  focus=focus_text(v.customer_type, v.channel_focus, lang))
                if not v.coverage.customers and not v.coverage.accepted else
                t("summary.validation.line", lang, number=v.group,
                  focus=focus_text(v.customer_type, v.channel_focus, lang),
                  confirmed=v.coverage.percent(v.coverage.confirmed),
                  corrected=v.coverage.percent(v.coverage.corrected),
                  rejected=v.coverage.percent(v.coverage.rejected), items=v.coverage.items,
                  answered=v.coverage.answered, customers=v.coverage.customers,
                  accepted=v.coverage.accepted)
                for v in summary.validation]
        parts.append(t("summary.validation", lang, state=t("summary.validation.done", lang))
                     + "\n" + "\n".join(rows))
    else:
        parts.append(t("summary.validation", lang, state=t("summary.validation.pending",
                                                            lang)))
    parts.append(t("summary.lowest", lang) + "\n" + (lowest(summary.lowest_moments)
                                                     or t("summary.none", lang)))
    if summary.customer_lowest:
        parts.append(t("summary.customer_lowest", lang) + "\n"
                     + lowest(summary.customer_lowest))
    parts.append(t("summary.next", lang))
    return message([section(p) for p in parts])


def _post_in_channel(client: WebClient, channel: str, **kwargs):
    """chat.postMessage, joining the channel first if the bot is not in it (public channels
    only: a private one answers channel_not_found until someone invites the bot)."""
    try:
        return client.chat_postMessage(channel=channel, **kwargs)
    except SlackApiError as error:
        if error.response.get("error") != "not_in_channel":
            raise
        client.conversations_join(channel=channel)
        return client.chat_postMessage(channel=channel, **kwargs)


def post_summary(services: Services, client: WebClient, team_id: str, workshop_id: int, *,
                 requested_by: str | None = None) -> list[str]:
    """Post the leadership summary (text + participation chart) to the workshop's
    leadership channel, or DM it to every leadership member (and whoever asked) when there
    is none — or when posting there failed: then the facilitator (or whoever asked) is told
    why and how to fix it. Returns where it went (a channel id, or user ids)."""
    with services.uow(team_id) as uow:
        workshop = get_workshop(uow, workshop_id)
        lang, channel = workshop.language, workshop.leadership_channel_id
        summary = summarise(uow, workshop_id, stage_name=lambda s: stage_label(s, lang))
        leaders = [p.user_id for p in workshop.people if p.role == "leadership"]
        facilitators = [p.user_id for p in workshop.people if p.role == "facilitator"]
    from workflows.rendering import render_participation

    blocks = summary_blocks(summary, lang)
    text = t("summary.title", lang, name=summary.workshop)
    chart = render_participation(
        {department_label(d, lang): n for d, n in summary.participation.items()},
        t("summary.chart", lang), empty=t("map.empty", lang))
    told = [requested_by] if requested_by else facilitators
    if channel:
        try:
            _post_in_channel(client, channel, text=text, blocks=blocks)
        except SlackApiError as error:
            code = error.response.get("error") or "unknown"
            log.warning("leadership summary not posted in %s: %s", channel, code)
            for user in told:
                client.chat_postMessage(channel=user, text=t(
                    "summary.channel_failed", lang, channel=channel, error=code))
        else:
            try:
                _upload(client, file=chart, filename="participation.png",
                        title=t("summary.chart", lang), alt_txt=t("summary.chart", lang),
                        channel=channel)
            except SlackApiError as error:
                log.warning("participation chart not posted: %s", error.response.get("error"))
            if requested_by:
                client.chat_postMessage(channel=requested_by, text=t(
                    "summary.posted_channel", lang, channel=channel))
            return [channel]
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
    """CSV + JSON of every post-it and the PDF of every group's map (hypothetical, and
    validated once customers have reviewed it), DMed to the facilitator."""
    from workflows.validation import coverage

    with services.uow(team_id) as uow:
        workshop = get_workshop(uow, workshop_id)
        lang, name = workshop.language, workshop.name
        rows = export_rows(uow, workshop_id, by=by, stage_name=lambda s: stage_label(s, lang))
        groups, reviewed = [], set()
        for group in uow.groups.groups(workshop_id):
            groups.append(group.id)
            found = coverage(uow, group)
            if found.answered or found.accepted:
                reviewed.add(group.id)
    dm = client.conversations_open(users=by)["channel"]["id"]
    client.chat_postMessage(channel=dm, text=t("export.done", lang, name=escape(name)))
    _upload(client, content=to_csv(rows), filename="post-its.csv", title="post-its.csv",
            channel=dm)
    _upload(client, content=to_json(rows), filename="post-its.json", title="post-its.json",
            channel=dm)
    from workflows.rendering import render_map

    labels = map_labels(lang)
    for group_id in groups:
        for version in ("hypothetical", "validated") if group_id in reviewed else \
                ("hypothetical",):
            number, *_rest, the_map = group_map(services, client, team_id, group_id,
                                                version=version, lang=lang)
            suffix = "" if version == "hypothetical" else "-validated"
            _upload(client, file=render_map(the_map, labels, fmt="pdf"),
                    filename=f"journey-map-group-{number}{suffix}.pdf",
                    title=f"journey-map-group-{number}{suffix}", channel=dm)


# --- opportunity owners ------------------------------------------------------------------------


def ask_owners(event) -> None:
    """Start of the follow-up: each facilitator gets a DM with the most voted opportunities
    and a button to give them owners; each group channel gets the same button (members
    give owners to their own group's opportunities)."""
    from bot.schedule_effects import results_text

    with event.services.uow(event.team_id) as uow:
        workshop = get_workshop(uow, event.workshop_id)
        name, wlang = workshop.name, workshop.language
        facilitators = [(p.user_id, language_of(p.locale, wlang)) for p in workshop.people
                        if p.role == "facilitator"]
        channels = [g.channel_id for g in uow.groups.groups(workshop.id) if g.channel_id]
    value = str(event.workshop_id)
    for user_id, lang in facilitators:
        top = results_text(event.services, event.team_id, event.workshop_id, lang,
                           kinds=("opportunity",))
        text = t("schedule.ask_owners", lang, name=escape(name), top=top)
        _safe_post(event.client, user_id, text, button_message(
            text, label=t("owners.open", lang), action=Action.OWNERS_OPEN, value=value))
    text = t("owners.ask_group", wlang, name=escape(name))
    for channel in channels:
        _safe_post(event.client, channel, text, button_message(
            text, label=t("owners.open", wlang), action=Action.OWNERS_OPEN, value=value))


def remind_owners(event) -> None:
    """The owner reminder: the workshop channel hears it, and each owner who is a Slack
    user gets a DM listing their opportunities."""
    from bot.schedule_effects import remind_owners as remind_channel

    remind_channel(event)
    with event.services.uow(event.team_id) as uow:
        workshop = get_workshop(uow, event.workshop_id)
        lang, name = workshop.language, workshop.name
        mine = owned_by(uow, workshop.id, stage_name=lambda s: stage_label(s, lang))
    for user_id, items in mine.items():
        lines = "\n".join(t("summary.item", lang, text=escape(plain(o.text, 200)),
                            votes=o.votes, group=o.group, stage=escape(o.stage))
                          for o in items)
        _safe_post(event.client, user_id, t("owners.reminder", lang, name=escape(name),
                                            items=lines))


def _safe_post(client: WebClient, channel: str, text: str, blocks=None) -> None:
    try:
        client.chat_postMessage(channel=channel, text=text, blocks=blocks)
    except SlackApiError as error:
        log.warning("message not posted in %s: %s", channel, error.response.get("error"))


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
        "ask_owners": ask_owners,
        "remind_owners": remind_owners,
    })
