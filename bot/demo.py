"""`journeybot demo`: a scripted workshop played against the offline Slack sandbox.

Everything goes through the app's real HTTP endpoint with signed requests, exactly as Slack
would drive it. The output folder gets:

- transcript.md: what each person saw, step by step (messages, modals, DMs);
- slack-api.jsonl: every Web API call the bot made, with arguments and responses;
- journeybot.db: the workshop's SQLite database.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

from bot.demo_maps import play_final_maps
from bot.demo_schedule import play_schedule
from bot.demo_validation import play_validation
from bot.offline import OfflineSlack
from bot.transcript import indent, render_blocks, unslack

FACILITATOR = ("U0CAMILLE", "Camille Durand", "fr-FR")
CO_FACILITATOR = ("U0JORDAN", "Jordan Lee", "en-US")
LEADERSHIP = [("U0DIRA", "Hélène Marchand", "fr-FR"), ("U0DIRB", "Robert Klein", "en-GB")]
CUSTOMERS = [("U0CLIA", "Inès (cliente)", "fr-FR"), ("U0CLIB", "Sam (customer)", "en-US")]
PARTICIPANTS = [
    # (user id, name, locale, department key)
    ("U1001", "Léa Bernard", "fr-FR", "marketing"), ("U1002", "Tom Fischer", "en-US", "marketing"),
    ("U1003", "Chloé Petit", "fr-FR", "marketing"), ("U1004", "Nora Haddad", "fr-FR", "marketing"),
    ("U1005", "Hugo Lefèvre", "fr-FR", "cx"), ("U1006", "Emma Wilson", "en-GB", "cx"),
    ("U1007", "Yanis Morel", "fr-FR", "cx"), ("U1008", "Alice Roux", "fr-FR", "cx"),
    ("U1009", "Lucas Garnier", "fr-FR", "sales"), ("U1010", "Olivia Brown", "en-US", "sales"),
    ("U1011", "Mathis Faure", "fr-FR", "sales"), ("U1012", "Jade Girard", "fr-FR", "sales"),
    ("U1013", "Paul André", "fr-FR", "finance"), ("U1014", "Grace Taylor", "en-US", "finance"),
    ("U1015", "Inès Blanc", "fr-FR", "finance"), ("U1016", "Louis Mercier", "fr-FR", "finance"),
    ("U1017", "Sarah Cohen", "fr-FR", "legal"), ("U1018", "Daniel Moore", "en-GB", "legal"),
    ("U1019", "Zoé Fontaine", "fr-FR", "legal"), ("U1020", "Adam Chevalier", "fr-FR", "legal"),
    ("U1021", "Manon Robin", "fr-FR", "after_sales"), ("U1022", "Ethan Clark", "en-US", "after_sales"),
    ("U1023", "Lina Gauthier", "fr-FR", "after_sales"), ("U1024", "Noah Perrin", "fr-FR", "after_sales"),
]
CHANNEL_NAME = "atelier-parcours-client"
SILENT = {"auth.test", "users.info", "conversations.info", "conversations.members",
          "files.getUploadURLExternal", "upload", "files.info", "conversations.open"}


class Story:
    """Writes the transcript: each step, then what Slack showed as a result."""

    def __init__(self, slack: OfflineSlack) -> None:
        self.slack = slack
        self.parts: list[str] = []
        self.seen = 0
        self.extra_files: dict[str, str] = {}  # name → text, saved beside the bot's files

    @property
    def names(self) -> dict[str, str]:
        sb = self.slack.sandbox
        names = {uid: u.get("real_name") or u.get("name") for uid, u in sb.users.items()}
        for cid, c in sb.channels.items():
            names[cid] = c.get("name") or names.get(c.get("user"), cid)
        return names

    def chapter(self, title: str, text: str = "") -> None:
        self.parts.append(f"\n## {title}\n\n{text}".rstrip() + "\n")

    def step(self, who: str, what: str) -> None:
        self.parts.append(f"\n**{self.names.get(who, who)}** {what}\n")

    def note(self, text: str) -> None:
        self.parts.append(f"\n> {text}\n")

    def outcome(self, *, brief: bool = False) -> None:
        """What Slack showed since the last step. `brief`: counts per kind, and only the
        final state of each updated message."""
        self.slack.settle()
        calls = [c for c in self.slack.sandbox.calls[self.seen:] if c.method not in SILENT]
        self.seen = len(self.slack.sandbox.calls)
        if not brief:
            # An update shows the message or modal as it ends up: keep the last of each.
            def target(call) -> tuple | None:
                if call.method == "chat.update":
                    return ("message", call.args.get("channel"), call.args.get("ts"))
                if call.method == "views.update":
                    return ("view", call.args.get("view_id"))
                return None

            last = {target(c): i for i, c in enumerate(calls) if target(c)}
            self.parts.extend(self.describe(call) for i, call in enumerate(calls)
                              if target(call) is None or last[target(call)] == i)
            return
        counts = Counter(c.method for c in calls)
        self.parts.append("- " + ", ".join(f"{n} × `{m}`" for m, n in counts.items()) + "\n")
        last_update = next((c for c in reversed(calls) if c.method == "chat.update"), None)
        if last_update is not None:
            self.parts.append(self.describe(last_update))

    def describe(self, call) -> str:
        args, names, ok = call.args, self.names, (call.response or {}).get("ok", True)
        if not ok:
            return f"- ⚠️ Slack refused `{call.method}`: {call.response.get('error')}\n"
        where = names.get(str(args.get("channel")), args.get("channel"))
        if call.method in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
            label = {"chat.postMessage": "💬 posted", "chat.update": "✏️ updated",
                     "chat.postEphemeral": "👁 only visible to "
                     + names.get(args.get("user"), "")}[call.method]
            channel = str(args.get("channel"))
            place = f"DM to {names.get(channel, channel)}" if channel.startswith(("U", "D")) \
                else f"#{where}"
            body = render_blocks(args.get("blocks"), names) or [unslack(args.get("text"), names)]
            return f"- {label} in {place}:\n\n{indent(body)}\n"
        if call.method in ("views.open", "views.push", "views.update"):
            view = args.get("view") or {}
            if isinstance(view, str):
                view = json.loads(view)
            title = (view.get("title") or {}).get("text", "")
            verb = {"views.open": "opens", "views.push": "pushes", "views.update": "updates"}
            return f"- 🪟 modal “{title}” {verb[call.method]}:\n\n" \
                   f"{indent(render_blocks(view.get('blocks'), names))}\n"
        if call.method == "views.publish":
            return f"- 🏠 App Home refreshed for {names.get(args.get('user_id'), '')}\n"
        if call.method == "response_url":
            body = render_blocks(args.get("blocks"), names) or [unslack(args.get("text"), names)]
            return f"- 👁 reply only the user sees:\n\n{indent(body)}\n"
        if call.method == "conversations.create":
            return f"- ➕ channel #{args.get('name')} created\n"
        if call.method == "conversations.invite":
            users = str(args.get("users", "")).split(",")
            return f"- 👥 {len(users)} people invited to #{where}\n"
        if call.method == "files.completeUploadExternal":
            files = args.get("files") or []
            files = json.loads(files) if isinstance(files, str) else files
            targets = str(args.get("channels") or args.get("channel_id") or "").split(",")
            shown = ", ".join(f"#{names.get(t, t)}" for t in targets if t)
            titles = ", ".join(f.get("title", "") for f in files)
            return f"- 🖼 file “{titles}” shared in {shown}\n"
        if call.method == "conversations.join":
            return f"- 🚪 the bot joined #{where}\n"
        return f"- `{call.method}`\n"

    def write(self, path: Path) -> None:
        path.write_text("# journeybot demo — transcript\n\nWhat each person saw in Slack, "
                        "step by step. Every Web API call is in `slack-api.jsonl`.\n"
                        + "".join(self.parts))


def run_demo(out: Path, *, database_url: str | None = None) -> int:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    database_url = database_url or f"sqlite:///{(out / 'journeybot.db').resolve()}"
    with OfflineSlack(database_url, log_path=out / "slack-api.jsonl", language="fr") as slack:
        story = Story(slack)
        play(slack, story)
        story.write(out / "transcript.md")
        summary = summarise(slack)
        summary["files"] = save_files(slack, out / "files")
        for name, text in story.extra_files.items():
            (out / "files" / name).write_text(text)
            summary["files"].append(name)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    print(f"journeybot demo: a workshop with {summary['participants']} participants from "
          f"{len(summary['departments'])} departments, {summary['api_calls']} Web API calls.")
    print(f"Output in {out}/ — open {out / 'transcript.md'} first; every Slack call is in "
          f"{out / 'slack-api.jsonl'}; the maps, the participation chart and the exports the "
          f"bot uploaded are in {out / 'files'}/.")
    return 0


def save_files(slack: OfflineSlack, folder: Path) -> list[str]:
    """Every file the bot uploaded (maps, charts, exports), as Slack received it."""
    folder.mkdir(parents=True, exist_ok=True)
    saved = []
    for record in slack.sandbox.files.values():
        name = record.get("name") or record.get("title") or record["id"]
        (folder / name).write_bytes(record["content"])  # the latest upload of a name wins
        if name not in saved:
            saved.append(name)
    return sorted(saved)


def play(slack: OfflineSlack, story: Story) -> None:
    sb, d = slack.sandbox, slack.driver
    everyone = [FACILITATOR, CO_FACILITATOR, *LEADERSHIP, *CUSTOMERS] + \
        [p[:3] for p in PARTICIPANTS]
    for user_id, name, locale in everyone:
        sb.add_user(user_id, name.split()[0].lower(), real_name=name, locale=locale,
                    tz="Europe/Paris")
    channel = sb.add_channel(CHANNEL_NAME, members=[u for u, _, _ in everyone])
    # The leadership channel, chosen at set-up: the summaries are posted there.
    leaders = sb.add_channel("direction-parcours-client",
                             members=[u for u, _, _ in (FACILITATOR, *LEADERSHIP)])
    facilitator = FACILITATOR[0]
    day1 = date.today() + timedelta(days=14)

    story.chapter("1. The facilitator asks for help, then creates the workshop")
    story.step(facilitator, "types `/journey help`")
    d.command(facilitator, "help", channel_id=channel)
    story.outcome()
    story.step(facilitator, "types `/journey new`")
    d.command(facilitator, "new", channel_id=channel)
    story.outcome()
    form = {"name": "Parcours client — boutique en ligne <!channel>", "channel": channel,
            "timezone": "Europe/Paris", "day1_date": day1.isoformat(),
            "day2_date": (day1 - timedelta(days=1)).isoformat(),
            "objectives": "Augmenter la satisfaction | CSAT\nRéduire l'abandon de panier "
                          "| taux de conversion\nIdentifier les points de douleur | NPS",
            "customer_types": "Jeunes actifs urbains\nFamilles\nSeniors connectés",
            "channel_focuses": ["online", "offline", "cross_channel", "omnichannel"],
            "leadership_channel": leaders}
    story.step(facilitator, "fills the form but puts day 2 before day 1, and submits")
    reply = d.submit_view(facilitator, form)
    story.note(f"The modal stays open and shows: {reply.errors}")
    story.outcome()
    story.step(facilitator, "fixes day 2 and submits (the name contains `<!channel>`: "
               "it is shown literally and pings nobody)")
    form["day2_date"] = (day1 + timedelta(days=1)).isoformat()
    d.submit_view(facilitator, form)
    story.outcome()

    story.chapter("2. Participants join with their department")
    kickoff = next(m for m in sb.messages(channel) if m.get("blocks"))
    for n, (user_id, _name, _locale, department) in enumerate(PARTICIPANTS):
        if n < 2:
            story.step(user_id, f"clicks **Join** and picks {department}")
        d.click(user_id, "workshop.join", message={**kickoff, "channel": channel})
        slack.settle()
        d.submit_view(user_id, {"department": _label(sb.top_view(user_id), department)})
        if n < 2:
            story.outcome()
    story.step(f"{len(PARTICIPANTS) - 2} more people", "click **Join** and pick their "
               "department (each gets a private confirmation; the kick-off count updates live, "
               "bursts of joins being merged into fewer updates)")
    story.outcome(brief=True)

    story.chapter("3. The facilitator adds a co-facilitator, leadership and customers")
    for users, role in ([CO_FACILITATOR], "facilitator"), (LEADERSHIP, "leadership"), \
            (CUSTOMERS, "customer"):
        story.step(facilitator, f"runs `/journey people` and adds {role}")
        d.command(facilitator, "people", channel_id=channel)
        slack.settle()
        d.submit_view(facilitator, {"users": [u for u, _, _ in users], "role": role})
        story.outcome()

    story.chapter("4. Cross-functional groups")
    story.step(PARTICIPANTS[2][0], "(a participant) tries `/journey groups`")
    d.command(PARTICIPANTS[2][0], "groups", channel_id=channel)
    story.outcome()
    story.step(facilitator, "runs `/journey groups` and sees the preview")
    d.command(facilitator, "groups", channel_id=channel)
    story.outcome()
    story.step(facilitator, "clicks **Remélanger** (reshuffle): another plan, just as mixed")
    d.click(facilitator, "groups.reshuffle")
    story.outcome()
    first, second = _same_department_pair(slack)
    story.step(facilitator, f"clicks **Modifier** (edit) and swaps {story.names[first]} and "
               f"{story.names[second]} (same department, so the mix stays optimal)")
    d.click(facilitator, "groups.edit")
    slack.settle()
    d.submit_view(facilitator, {"person": first, "other": second})
    story.outcome()
    story.step(facilitator, "clicks **Valider les groupes** (confirm)")
    d.submit_view(facilitator, {})
    story.outcome()
    late = ("U1025", "Rémi Caron", "fr-FR", "product")
    sb.add_user(late[0], "remi", real_name=late[1], locale=late[2], tz="Europe/Paris")
    story.step(late[0], "joins late, from Product")
    d.click(late[0], "workshop.join", message={**kickoff, "channel": channel})
    slack.settle()
    d.submit_view(late[0], {"department": "product"})
    story.outcome()

    play_board(slack, story, channel)
    play_schedule(slack, story)
    play_maps(slack, story, channel)
    play_validation(slack, story)  # day 2: customers review, groups consolidate

    story.chapter("9. Where do I stand?")
    story.step(PARTICIPANTS[1][0], "types `/journey`")
    d.command(PARTICIPANTS[1][0], "", channel_id=channel)
    story.outcome()
    story.step(PARTICIPANTS[0][0], "opens the app's Home tab")
    d.event({"type": "app_home_opened", "user": PARTICIPANTS[0][0], "tab": "home",
             "channel": "D0HOME"})
    story.outcome()

    # Keep this last (after the customers' validation and the consolidation): the end of
    # day 2 publishes the validated maps, the comparisons, the final summary, then owners.
    play_final_maps(slack, story)


POST_ITS = [  # (kind, stage, text): what a group would put on its board, in French and English
    ("step", "prise de conscience", "Voit une publicité Instagram pour l'offre"),
    ("step", "consideration", "Compares three offers on comparison sites"),
    ("step", "achat", "Crée un compte et remplit le formulaire"),
    ("step", "retention", "Uses the app every day"),
    ("step", "recommandation", "Parle de l'appli à ses amis"),
    ("touchpoint", "prise de conscience reseaux sociaux", "Story sponsorisée"),
    ("touchpoint", "consideration web", "Pricing page"),
    ("touchpoint", "achat sms", "SMS de code de validation"),
    ("touchpoint", "retention phone", "Support hotline"),
    ("action", "consideration", "Opens ten tabs and builds a spreadsheet"),
    ("action", "achat", "Abandonne une première fois au justificatif de domicile"),
    ("emotion", "prise de conscience +1", "Curieux, sans plus"),
    ("emotion", "consideration -1", "Lost in the options"),
    ("emotion", "achat -2", "Agacé par le formulaire"),
    ("emotion", "retention +1", "The app is smooth"),
    ("emotion", "recommandation +2", "Fier d'avoir trouvé le bon plan"),
    ("pain", "consideration", "Pricing grid is unreadable, fees hidden in annexes"),
    ("pain", "achat", "Formulaire de 14 champs, impossible à finir sur mobile"),
    ("pain", "achat", "Proof of address asked at the last moment"),
    ("pain", "retention", "Plus de 15 min d'attente au téléphone"),
    ("opportunity", "consideration", "Simulateur de prix en 3 questions"),
    ("opportunity", "achat", "Save the form and finish later"),
    ("opportunity", "retention", "Rappel automatique au lieu de l'attente"),
    ("kpi", "achat", "Taux de conversion du tunnel"),
    ("kpi", "retention", "NPS at 3 months"),
]


def play_board(slack: OfflineSlack, story: Story, channel: str) -> None:
    sb, d = slack.sandbox, slack.driver
    members = _group_members(slack)
    story.chapter("5. The boards fill up", "Each group lists the stages of its customers' "
                  "journey and fills them: touchpoints, actions, emotions, pain points, "
                  "opportunities, KPIs — with the modal, quick text, or any Slack message.")
    first_group, first_channel = next(iter(members.items()))
    author = first_group[0]
    story.step(author, "opens the add modal with `/journey add` and adds a pain point")
    d.command(author, "add", channel_id=first_channel)
    slack.settle()
    view = sb.top_view(author)
    stage = next(o["value"] for b in view["blocks"] if b.get("block_id") == "stage"
                 for o in b["element"]["options"] if o["text"]["text"] in ("Achat", "Purchase"))
    d.submit_view(author, {"kind": "pain", "stage": stage,
                           "text": "Le paiement échoue sur mobile <!here>"})
    story.outcome()
    story.step(author, "types `/journey add douleur achat: frais de dossier surprise` "
               "(quick text: the confirmation comes back at once, privately)")
    reply = d.command(author, "add douleur achat: frais de dossier surprise",
                      channel_id=first_channel)
    story.note(f"Slack shows only to them: {reply.body}")
    story.outcome()
    story.step(author, "turns a colleague's Slack message into a post-it (message shortcut "
               "*Add as post-it*)")
    message = sb.post_user_message(first_channel, first_group[1],
                                   "Les clients appellent le SAV pour suivre leur commande")
    d.message_shortcut(author, "board.add_message", message, channel_id=first_channel)
    slack.settle()
    view = sb.top_view(author)
    stage = next(o["value"] for b in view["blocks"] if b.get("block_id") == "stage"
                 for o in b["element"]["options"] if o["text"]["text"] in ("Rétention",
                                                                           "Retention"))
    d.submit_view(author, {"kind": "pain", "stage": stage})
    story.outcome()
    for n, (people, group_channel) in enumerate(members.items()):
        for k, (kind, where, text) in enumerate(POST_ITS[: 25 - 3 * n]):
            d.command(people[k % len(people)], f"add {kind} {where}: {text}",
                      channel_id=group_channel)
    story.step("Every group", "adds its post-its with quick text (the boards update in place, "
               "bursts merged into a few `chat.update` calls)")
    story.outcome(brief=True)

    story.step(author, "clicks **Organiser** (arrange) and moves a post-it to another stage")
    board_message = next(m for m in sb.messages(first_channel) if "Tableau" in (m.get("text") or "")
                         or "board" in (m.get("text") or ""))
    d.click(author, "board.arrange", message={**board_message, "channel": first_channel})
    slack.settle()
    view = sb.top_view(author)
    post_it = next(o["value"] for b in view["blocks"] if b.get("block_id") == "post_it"
                   for o in b["element"]["options"] if "mobile" in o["text"]["text"])
    stage = next(o["value"] for b in view["blocks"] if b.get("block_id") == "stage"
                 for o in b["element"]["options"]
                 if o["text"]["text"] in ("Considération", "Consideration"))
    d.submit_view(author, {"post_it": post_it, "stage": stage, "position": "1"})
    story.outcome()

    story.chapter("6. Share-out and dot voting", "Everyone has 3 votes for the pain points and "
                  "opportunities of any group.")
    voters = [p for people in members for p in people][:12]
    for n, voter in enumerate(voters):
        d.command(voter, "vote", channel_id=channel)
        slack.settle()
        for pick in range(3):
            view = sb.top_view(voter)
            buttons = [b["accessory"] for b in view["blocks"]
                       if b.get("accessory", {}).get("action_id") == "vote.cast"]
            if not buttons:
                break
            choice = buttons[(n + pick * 2) % min(len(buttons), 6)]
            d.click(voter, "vote.cast", value=choice["value"])
            slack.settle()
        if n == 0:
            story.step(voter, "opens `/journey vote` and gives 3 votes")
            story.outcome()
        sb.close_views(voter)
    story.step(f"{len(voters) - 1} more people", "vote; tallies appear on every board")
    story.outcome(brief=True)


def play_maps(slack: OfflineSlack, story: Story, channel: str) -> None:
    d = slack.driver
    facilitator = FACILITATOR[0]
    story.chapter("8. Journey maps, the leadership summary, exports")
    story.step(facilitator, "runs `/journey publish`: every group's map is drawn and posted "
               "to its channel and the workshop channel")
    d.command(facilitator, "publish", channel_id=channel)
    story.outcome()
    story.step(facilitator, "runs `/journey summary`: the summary is posted in the "
               "leadership channel chosen at set-up")
    d.command(facilitator, "summary", channel_id=channel)
    story.outcome()
    story.step(facilitator, "runs `/journey export`: CSV, JSON and the PDF of every map")
    d.command(facilitator, "export", channel_id=channel)
    story.outcome()


def _group_members(slack: OfflineSlack) -> dict[tuple[str, ...], str]:
    """Participants of each group channel → that channel."""
    participants = {p[0] for p in PARTICIPANTS}
    return {tuple(m for m in c["members"] if m in participants): cid
            for cid, c in slack.sandbox.channels.items()
            if c.get("is_private") and not c.get("is_im")}


def _same_department_pair(slack: OfflineSlack) -> tuple[str, str]:
    """Two people of one department in different groups of the current draft."""
    department = {p[0]: p[3] for p in PARTICIPANTS}
    with slack.services.uow(slack.team_id) as uow:
        workshop = uow.workshops.for_user(FACILITATOR[0])[0][0]
        groups = uow.groups.grouping(workshop.id).plan["groups"]
    for a in groups[0]:
        for b in groups[1]:
            if department.get(a) == department.get(b):
                return a, b
    return groups[0][0], groups[1][0]


def _label(view: dict, department: str) -> str:
    """The option value to pick in the join modal for this department."""
    for block in view.get("blocks", []):
        for option in block.get("element", {}).get("options", []):
            if option["value"] == department:
                return option["value"]
    raise LookupError(department)


def summarise(slack: OfflineSlack) -> dict:
    with slack.services.uow(slack.team_id) as uow:
        workshops = [w for w, _ in uow.workshops.for_user(FACILITATOR[0])]
        workshop = workshops[0]
        people = uow.people.in_workshop(workshop.id)
        departments = Counter(p.department for p in people if p.role == "participant")
        roles = Counter(p.role for p in people)
        name = workshop.name
    return {
        "workshop": name,
        "participants": sum(departments.values()),
        "departments": dict(departments),
        "roles": dict(roles),
        "api_calls": len(slack.sandbox.calls),
        "api_calls_by_method": dict(Counter(c.method for c in slack.sandbox.calls)),
    }
