"""Time travel (issue 13): the readiness JSON of every past version, rebuilt from what was
recorded with its change, is exactly the JSON served when that version was made, over a
sequence of every kind of change."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from django.utils import timezone

from checklists.board.presenters import readiness_json
from checklists.core import history
from checklists.core.selectors import board_of, launch_with_plan
from checklists.core.services import (
    criterion_tick,
    plan_import,
    signoff_record,
    task_move,
    waiver_grant,
    waiver_revoke,
)
from checklists.core.snapshot import snapshot_hash, snapshot_of
from checklists.engine.plan import load_plan
from checklists.models import BoardState, Criterion, Event, Launch, StatePart, Task, Waiver
from metrics.models import Run, Source
from metrics.services import run_ingest, run_invalidate, source_poll
from tests.checklists.conftest import put_connections
from tests.support.people import members

ROOT = Path(__file__).resolve().parents[3]
K6 = ROOT / "tests" / "fixtures" / "k6"
API = "/api/launches/whatsapp-saas/"


def differences(a: dict, b: dict) -> list:
    """What differs between two readiness JSONs, item by item (for the failure message)."""
    found = [k for k in a if k not in ("criteria", "tasks") and a[k] != b.get(k)]
    for part in ("criteria", "tasks"):
        found += [(x, y) for x, y in zip(a[part], b[part], strict=False) if x != y]
    return found


class Recorder:
    """Makes changes through the services, keeping the JSON served after each one."""

    def __init__(self, demo, client, capture):
        self.demo, self.client, self.capture = demo, client, capture
        self.served: dict[int, dict] = {}
        self.kinds: set[str] = set()

    def __call__(self, change) -> None:
        before = Launch.objects.get(pk=self.demo.pk).version
        with self.capture(execute=True):  # the after-commit render, as in production
            change()
        data = self.client.get(API).json()
        newest = Event.objects.filter(launch=self.demo).order_by("-version").first()
        if newest.version == before:  # live data that changed no state: no new version
            assert data["version"] == before  # the current board redrawn with its new values
            return
        self.served[data["version"]] = data
        self.kinds.add(newest.kind)
        # What was recorded is what the database held: evaluated from the rows themselves, at
        # the version's moment, the board is the one served.
        fresh = launch_with_plan(pk=self.demo.pk)
        assert readiness_json(board_of(fresh, newest.created_at)) == data

    def hash_shown(self) -> str:
        fresh = launch_with_plan(pk=self.demo.pk)
        return snapshot_hash(snapshot_of(fresh, board_of(fresh).readiness))


def test_every_past_version_is_rebuilt_exactly(
    demo, client, aws, demo_plan_text, django_capture_on_commit_callbacks
):
    record = Recorder(demo, client, django_capture_on_commit_callbacks)
    who = members(
        demo,
        ("eng", "engineer", ""),
        ("carol", "approver", "cto"),
        ("dee", "approver", "devops"),
        ("sam", "approver", "security"),
    )
    eng = who["eng"]

    def move(key, status, reason=""):
        task = Task.objects.get(launch=demo, key=key)
        return lambda: task_move(task, status=status, actor=eng, reason=reason)

    def tick(key, checked=True):
        c = Criterion.objects.get(launch=demo, key=key)
        return lambda: criterion_tick(c, checked=checked, actor=eng, reason="not yet")

    def ingest(name, test):
        return lambda: run_ingest(demo, K6 / name, test=test, actor_name="ci")

    def sign(name, role, decision="approved"):
        return lambda: signoff_record(
            demo,
            role,
            user=who[name],
            decision=decision,
            comment="seen",
            shown_hash=record.hash_shown(),
        )

    def reimport(old, new):
        text = demo_plan_text.replace(old, new)
        return lambda: plan_import(load_plan(text, "whatsapp-saas.yaml"), actor_name="ops")

    def poll_rds(value):
        def change():
            put_connections(aws, [value])
            time.sleep(1.1)  # moto reads a query's end to the whole second
            source_poll(Source.objects.get(launch=demo, key="rds").pk)

        return change

    def waive():
        waiver_grant(
            demo,
            "peak-error-rate",
            user=who["carol"],
            reason="Known retry storm, fixed next sprint.",
            compensating_control="Alert on 5XX.",
            expires_at=timezone.now() + timedelta(days=2),
            current_status="fail",
            current_value=0.021,
        )

    for change in (
        move("deploy-staging", "in_progress"),
        move("deploy-staging", "done"),
        move("verify-deployment", "done"),
        ingest("peak_fail.ndjson", "peak"),  # fails: errors over 1%
        tick("no-connection-queueing"),
        tick("redis-upgraded"),
        waive,
        lambda: waiver_revoke(Waiver.objects.get(launch=demo), user=who["carol"]),
        ingest("peak_pass.ndjson", "peak"),
        move("rerun-peak-test", "done"),
        lambda: run_invalidate(
            Run.objects.filter(launch=demo).order_by("-id").first(),
            reason="ran against the wrong host",
            actor_name="eng",
        ),
        ingest("peak_pass.ndjson.gz", "peak"),
        move("validate-results", "in_progress"),
        move("validate-results", "done"),
        tick("redis-upgraded", checked=False),
        tick("redis-upgraded"),
        poll_rds(31),  # live data: the RDS criterion passes
        ingest("spike.ndjson.gz", "spike"),
        move("upgrade-redis", "done"),
        tick("ai-retry-implemented"),
        move("ai-retry", "done"),
        sign("carol", "cto"),
        reimport("threshold: max<45 over 5m", "threshold: max<30 over 5m"),  # now it fails
        poll_rds(29),  # the window's peak is still 31: nothing changes state
        sign("dee", "devops", "rejected"),
        tick("alerts-configured"),
        move("configure-alerts", "done"),
        reimport("threshold: max<30 over 5m", "threshold: max<45 over 5m"),
        sign("dee", "devops"),
        tick("smoke-tests"),
        sign("sam", "security"),
        move("final-validation", "blocked", reason="waiting for the endurance run"),
    ):
        record(change)

    assert len(record.served) >= 30
    assert {
        "task.moved",
        "criterion.ticked",
        "criterion.unticked",
        "run.ingested",
        "run.invalidated",
        "waiver.granted",
        "waiver.revoked",
        "signoff.approved",
        "signoff.rejected",
        "plan.imported",
        "readiness.changed",  # the live reading that changed a state
    } <= record.kinds, record.kinds
    verdicts = {data["verdict"] for data in record.served.values()}
    assert len(verdicts) >= 2  # the sequence moved the verdict, not only details

    demo.refresh_from_db()
    for version, served in record.served.items():
        rebuilt = client.get(API, {"version": version})
        assert rebuilt.status_code == 200
        assert rebuilt.json() == served, (
            version,
            list(Event.objects.filter(launch=demo).values_list("version", "kind", "created_at")),
            differences(rebuilt.json(), served),
        )
        made_at = Event.objects.get(launch=demo, version=version).created_at
        assert client.get(API, {"at": made_at.isoformat()}).json() == served
    # Every version has its record; a tick shares all but a few parts with the one before.
    assert BoardState.objects.filter(launch=demo).count() == demo.version
    assert StatePart.objects.count() < 12 * demo.version


def test_a_past_version_answers_with_an_etag_and_304(
    demo, client, django_capture_on_commit_callbacks
):
    first = client.get(API).json()
    c = Criterion.objects.get(launch=demo, key="redis-upgraded")
    with django_capture_on_commit_callbacks(execute=True):
        criterion_tick(c, checked=True)
    past = client.get(API, {"version": first["version"]})
    assert past.json() == first
    assert past["ETag"].startswith(f'"{first["version"]}-')
    again = client.get(API, {"version": first["version"]}, HTTP_IF_NONE_MATCH=past["ETag"])
    assert again.status_code == 304


def test_bad_questions_about_the_past_get_clear_answers(demo, client):
    launch = Launch.objects.get(pk=demo.pk)
    cases = {
        (("version", "0"),): (400, "version must be a whole number from 1"),
        (("version", "x"),): (400, "version must be a whole number from 1"),
        (("version", str(launch.version + 1)),): (404, "does not exist yet"),
        (("at", "yesterday"),): (400, "is not an ISO 8601 time"),
        (("at", "2001-01-01T00:00:00Z"),): (404, "the launch did not exist yet"),
        (("version", "1"), ("at", "2001-01-01")): (400, "not both"),
    }
    for query, (status, words) in cases.items():
        answer = client.get(API, dict(query))
        assert answer.status_code == status, query
        assert words in answer.json()["error"], answer.json()
    # A time after the newest change is the current version; a time without a zone is UTC.
    now = timezone.now().replace(tzinfo=None).isoformat()
    assert client.get(API, {"at": now}).json()["version"] == launch.version


def test_a_version_from_before_time_travel_says_so(
    demo, client, django_capture_on_commit_callbacks
):
    c = Criterion.objects.get(launch=demo, key="redis-upgraded")
    with django_capture_on_commit_callbacks(execute=True):
        criterion_tick(c, checked=True)
    BoardState.objects.filter(launch=demo, version=1)._raw_delete(BoardState.objects.db)
    answer = client.get(API, {"version": 1})
    assert answer.status_code == 404
    assert "was not recorded" in answer.json()["error"]


def test_the_inputs_survive_the_round_trip(demo):
    fresh = launch_with_plan(pk=demo.pk)
    at = timezone.now()
    inputs = history.inputs_of(fresh, at)
    history.capture(demo.pk, 999, at)
    again = history.inputs_at(demo.pk, 999)
    assert again.plan == inputs.plan.__class__(**{**vars(inputs.plan), "version": 999})
    assert again.observations == inputs.observations
    assert (again.runs, again.sources, again.at) == (inputs.runs, inputs.sources, at)


def test_a_database_from_before_records_gets_its_current_version_recorded_when_needed(demo, client):
    BoardState.objects.filter(launch=demo)._raw_delete(BoardState.objects.db)
    assert client.get(API.rstrip("/") + "/report.md").status_code == 200  # recorded then
    launch = Launch.objects.get(pk=demo.pk)
    state = BoardState.objects.get(launch=demo)
    assert state.version == launch.version
    assert state.at == Event.objects.get(launch=demo, version=launch.version).created_at
