"""Exactly once across two app processes on PostgreSQL: both wake the same workshop at the
same moment; each transition is announced once (issue 5)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from tests.conftest import POSTGRES_URL, _reset_postgres

ROOT = Path(__file__).resolve().parents[2]

WORKER = """
import json, sys, time
from datetime import datetime, timedelta
from tests.unit.test_scheduling import DAY1, TEAM, Clock, FakeSlack, make_services
from bot.scheduling import Scheduling

url, workshop_id, start = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
services = make_services(url, Clock(DAY1 + timedelta(seconds=5)))
runner = Scheduling(services, FakeSlack(), scheduler=False)
services.schedule = runner
while time.time() < start:  # both processes wake the workshop at the same instant
    time.sleep(0.001)
runner.wake(TEAM, workshop_id)
services.work.wait_idle(30)
print(json.dumps(runner.client.texts("CWORK")))
runner.stop()
"""


@pytest.mark.skipif(not POSTGRES_URL, reason="JOURNEYBOT_TEST_POSTGRES_URL is not set")
def test_two_processes_announce_each_transition_exactly_once():
    from tests.unit.test_scheduling import DAY1, TEAM, make_services, new_workshop

    _reset_postgres(POSTGRES_URL)
    services = make_services(POSTGRES_URL)  # migrates the database once, up front
    workshop_id = new_workshop(services, DAY1, created=DAY1 - timedelta(days=10))
    start = time.time() + 3.0
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, POSTGRES_URL, str(workshop_id),
                                 str(start)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [w.communicate(timeout=120) for w in workers]
    assert all(w.returncode == 0 for w in workers), [err[-2000:] for _, err in outputs]
    posted = [text for out, _ in outputs for text in json.loads(out.strip().splitlines()[-1])]
    assert len([text for text in posted if "starts now" in text]) == 1
    with services.uow(TEAM) as uow:
        keys = [t.key for t in uow.schedule.transitions(workshop_id)]
    assert keys == ["preparation:end:1", "kickoff:start:1"]
    services.db.dispose()
