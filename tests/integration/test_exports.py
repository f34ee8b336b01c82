"""Exports and imports on a real database, and the command line around them."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from storage import Database, UnitOfWork
from storage.models import Person, WorkGroup
from workflows.board import NewPostIt, add_post_it, ensure_stages, seat_for
from workflows.exports import export_rows, import_csv, to_csv
from workflows.problems import Forbidden, Invalid
from workflows.workshops import WorkshopDraft, create_workshop

DAY1 = datetime(2027, 3, 2, 8, 0, tzinfo=timezone.utc)
NAMES = {"awareness": ["Awareness"], "purchase": ["Purchase", "Achat"]}


def stage_names(stage):
    return NAMES.get(stage.key, [stage.key or stage.name])


@pytest.fixture
def workshop(sqlite_url):
    db = Database(sqlite_url)
    with UnitOfWork(db.sessions, "T1") as uow:
        workshop = create_workshop(uow, WorkshopDraft(
            name="W", channel_id="C1", language="en", timezone="Europe/Paris",
            day1_start=DAY1, day2_start=DAY1 + timedelta(days=1)), creator="UF")
        for n in (1, 2):
            group = uow.groups.add_group(WorkGroup(workshop_id=workshop.id, number=n,
                                                   invited=[], channel_id=f"G{n}"))
            uow.people.add(Person(workshop_id=workshop.id, user_id=f"U{n}", role="participant",
                                  department="cx", group_id=group.id))
        uow.commit()
        seat = seat_for(uow, "U1", "G1")
        add_post_it(uow, seat, NewPostIt("pain", ensure_stages(uow, seat.group)[2].id,
                                         "Fees, \"hidden\"; in annexes"))
        uow.commit()
        return db, workshop.id


def test_export_rows_and_csv_round_trip(workshop):
    db, workshop_id = workshop
    with UnitOfWork(db.sessions, "T1") as uow:
        rows = export_rows(uow, workshop_id, by="UF", stage_name=lambda s: s.key)
        with pytest.raises(Forbidden):
            export_rows(uow, workshop_id, by="U1", stage_name=lambda s: s.key)
    parsed = list(csv.DictReader(io.StringIO(to_csv(rows))))
    assert parsed[0]["text"] == 'Fees, "hidden"; in annexes'
    assert parsed[0]["stage"] == "purchase" and parsed[0]["lane"] == "pain"


def test_import_is_all_or_nothing_and_names_the_line(workshop):
    db, workshop_id = workshop
    bad = "stage,lane,text\nachat,step,fine\nachat,gripe,bad\n"
    with UnitOfWork(db.sessions, "T1") as uow, pytest.raises(Invalid) as caught:
        import_csv(uow, workshop_id, bad, stage_names=stage_names, author="UF")
    assert caught.value.fields["file"].params == {"line": 3, "field": "lane",
                                                  "code": "unknown_kind"}
    good = "stage,lane,text,channel,score,group\nachat,touchpoint,Till,store,,\n" \
           "awareness,emotion,Curious,,1,2\n"
    with UnitOfWork(db.sessions, "T1") as uow:
        report = import_csv(uow, workshop_id, good, stage_names=stage_names, author="UF")
        uow.commit()
        assert (report.imported, report.groups) == (3, 2)
        rows = export_rows(uow, workshop_id, by=None, stage_name=lambda s: s.key)
    assert sorted(r["text"] for r in rows) == ["Curious", "Fees, \"hidden\"; in annexes",
                                               "Till", "Till"]
    with UnitOfWork(db.sessions, "T1") as uow, pytest.raises(Invalid) as caught:
        import_csv(uow, workshop_id, "text\nx\n", stage_names=stage_names, author="UF")
    assert caught.value.fields["file"].code == "import_columns"


def test_command_line_export_and_import(workshop, tmp_path):
    db, workshop_id = workshop
    env = {"DATABASE_URL": db.url, "PATH": ""}
    bad = tmp_path / "bad.csv"
    bad.write_text("stage,lane,text\nachat,gripe,bad\n")
    result = subprocess.run([sys.executable, "-m", "bot", "import", str(workshop_id), str(bad)],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "nothing imported. Line 2, column lane: Pick a kind of post-it." in result.stderr
    out = tmp_path / "export"
    result = subprocess.run([sys.executable, "-m", "bot", "export", str(workshop_id), "--out",
                             str(out)], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (out / "post-its.csv").exists() and (out / "journey-map-group-1.pdf").read_bytes(
    ).startswith(b"%PDF")
