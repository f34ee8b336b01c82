"""`journeybot` command line: serve, demo, db upgrade, manifest."""

from __future__ import annotations

import argparse
import gc
import json
import logging
import secrets
import sys
from datetime import date
from pathlib import Path

from bot.config import ConfigError, Settings, load_settings
from storage import UnitOfWork


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import build_app
    from bot.web import HttpServer, JourneybotWSGI

    sandbox = None
    if settings.offline:
        from dataclasses import replace

        from bot.sandbox import SlackSandbox

        sandbox = SlackSandbox(log_path=Path(args.sandbox_log) if args.sandbox_log else None)
        sandbox.start()
        settings = replace(settings, bot_token="xoxb-sandbox", api_url=sandbox.api_url,
                           signing_secret=settings.signing_secret or secrets.token_hex(16),
                           app_token=None)
        print(f"No SLACK_BOT_TOKEN: serving against the offline Slack sandbox "
              f"({sandbox.api_url}); signing secret {settings.signing_secret}. "
              "Put your tokens in .env to connect to Slack.", flush=True)
    app, services = build_app(settings)
    # What start-up built (modules, the app, its listeners) lives as long as the process:
    # keep it out of the collector's full passes, so they stay short (a request waiting
    # behind one is the tail of the ack latency).
    gc.collect()
    gc.freeze()
    if settings.socket_mode:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        from bot.review_pages import review_only_wsgi

        # customers without Slack still review on the web: serve only their pages
        pages = HttpServer(review_only_wsgi(services, app.client), host=args.host,
                           port=settings.port).start()
        print(f"journeybot: customer review pages on {pages.url}/review/...", flush=True)
        print("journeybot: Socket Mode connected; Ctrl-C to stop.", flush=True)
        SocketModeHandler(app, settings.app_token).start()
        return 0
    server = HttpServer(JourneybotWSGI(app, services), host=args.host, port=settings.port)
    print(f"journeybot: listening on {server.url}/slack/events (health: {server.url}/healthz)",
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        if sandbox:
            sandbox.stop()
    return 0


def _demo(settings: Settings, args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    return run_demo(Path(args.out), database_url=args.database_url)


def _db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    from storage import upgrade

    upgrade(settings.database_url, args.revision)
    print(f"Database is up to date ({_redact(settings.database_url)}).")
    return 0


def _manifest(settings: Settings, args: argparse.Namespace) -> int:
    from bot.manifest import build_manifest, manifest_yaml, validate

    if args.check:
        schema = json.loads(Path(args.check).read_text())
        problems = validate(build_manifest(args.request_url), schema)
        for problem in problems:
            print(problem, file=sys.stderr)
        print("manifest: valid" if not problems else f"manifest: {len(problems)} problem(s)")
        return 1 if problems else 0
    text = manifest_yaml(args.request_url)
    if args.write:
        Path(args.write).write_text(text)
        print(f"Wrote {args.write}")
    else:
        print(text, end="")
    return 0


def _export(settings: Settings, args: argparse.Namespace) -> int:
    """CSV and JSON of every post-it, and the PDF (and PNG) of every group's map."""
    from bot.blocks import focus_label
    from bot.board_blocks import stage_label
    from bot.i18n import t
    from bot.maps import map_labels
    from storage import Database
    from workflows.exports import export_rows, to_csv, to_json
    from workflows.journey_maps import journey_map
    from workflows.rendering import render_map

    db = Database(settings.database_url)
    team = db.team_of(args.workshop_id)
    if team is None:
        raise ConfigError(f"There is no workshop {args.workshop_id} in {_redact(db.url)}.")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with UnitOfWork(db.sessions, team) as uow:
        workshop = uow.workshops.get(args.workshop_id)
        lang = workshop.language
        rows = export_rows(uow, workshop.id, by=None, stage_name=lambda s: stage_label(s, lang))
        (out / "post-its.csv").write_text(to_csv(rows))
        (out / "post-its.json").write_text(to_json(rows))
        labels = map_labels(lang)
        for group in uow.groups.groups(workshop.id):
            the_map = journey_map(
                uow, group, version="hypothetical", made_on=date.today(),
                stage_name=lambda s: stage_label(s, lang),
                group_label=t("groups.edit.group_option", lang, number=group.number),
                focus_label=lambda f: focus_label(f, lang) if f else None)
            for fmt in ("pdf", "png"):
                (out / f"journey-map-group-{group.number}.{fmt}").write_bytes(
                    render_map(the_map, labels, fmt=fmt))
        name = workshop.name
    print(f"Exported {len(rows)} post-its of “{name}” to {out}/.")
    return 0


def _import(settings: Settings, args: argparse.Namespace) -> int:
    from bot.board_blocks import stage_names
    from bot.i18n import t
    from storage import Database
    from workflows.exports import import_csv
    from workflows.problems import Invalid

    db = Database(settings.database_url)
    team = db.team_of(args.workshop_id)
    if team is None:
        raise ConfigError(f"There is no workshop {args.workshop_id} in {_redact(db.url)}.")
    text = Path(args.file).read_text(encoding="utf-8-sig")
    with UnitOfWork(db.sessions, team) as uow:
        try:
            report = import_csv(uow, args.workshop_id, text, author="import",
                                stage_names=lambda s: stage_names([s])[s.id])
        except Invalid as invalid:
            problem = next(iter(invalid.fields.values()))
            params = dict(problem.params)
            if "code" in params:  # a line's own problem, worded like the modal's errors
                params["reason"] = t(f"problem.{params.pop('code')}", "en", **params)
            print(f"journeybot: nothing imported. {t('problem.' + problem.code, 'en', **params)}",
                  file=sys.stderr)
            return 1
        uow.commit()
    print(f"Imported {report.imported} post-its into {report.groups} group boards.")
    return 0


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="journeybot", description=(
        "Run customer-journey-mapping workshops in Slack. Settings come from the environment "
        "and .env (see .env.example)."))
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the bot (Socket Mode if SLACK_APP_TOKEN, "
                                "else HTTP on PORT; the offline sandbox if no token)")
    serve.add_argument("--host", default="0.0.0.0", help="HTTP interface (default 0.0.0.0)")
    serve.add_argument("--sandbox-log", help="with no token: write the sandbox's Web API log here")
    serve.set_defaults(run=_serve)

    demo = commands.add_parser("demo", help="play a scripted workshop against the offline "
                               "Slack sandbox and write what Slack would show")
    demo.add_argument("--out", default="journeybot-demo", help="output folder")
    demo.add_argument("--database-url", help="default: a fresh SQLite file in the output folder")
    demo.set_defaults(run=_demo)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    up = db_commands.add_parser("upgrade", help="apply schema migrations (also done on start)")
    up.add_argument("revision", nargs="?", default="head")
    up.set_defaults(run=_db_upgrade)

    export = commands.add_parser("export", help="write a workshop's post-its (CSV, JSON) and "
                                 "every group's map (PDF, PNG) to a folder")
    export.add_argument("workshop_id", type=int)
    export.add_argument("--out", default="journeybot-export", help="output folder")
    export.set_defaults(run=_export)

    load = commands.add_parser("import", help="load pre-collected post-its from a CSV "
                               "(columns stage, lane, text[, channel, score, group]) into a "
                               "workshop's group boards; all or nothing")
    load.add_argument("workshop_id", type=int)
    load.add_argument("file")
    load.set_defaults(run=_import)

    manifest = commands.add_parser("manifest", help="print, write or validate the app manifest")
    manifest.add_argument("--write", metavar="FILE", help="write it (e.g. app_manifest.yml)")
    manifest.add_argument("--check", metavar="SCHEMA", help="validate against Slack's schema")
    manifest.add_argument("--request-url", help="HTTP mode: https://your.host/slack/events")
    manifest.set_defaults(run=_manifest)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("slack_bolt", "fontTools", "alembic", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        settings = load_settings()
        return args.run(settings, args)
    except ConfigError as error:
        print(f"journeybot: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
