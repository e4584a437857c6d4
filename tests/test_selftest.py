"""`make selftest`: Launchboard's own launch-day load test (real k6 against a real embedded
server), ingested into the `launchboard-self` launch, which judges it with the seed's criteria."""

from __future__ import annotations

import json

import pytest

from tests.support.server import running_server


@pytest.mark.slow
def test_the_selftest_judges_launchboard_on_its_own_board():
    # The board that judges is a server like `make run`'s; the one under test is started by
    # the command itself, fresh.
    with running_server(demo=False, start=False) as board:
        board.manage("selftest", "--duration", "6", "--vus", "40", "--hold", "3", timeout=300)
        data = json.loads(board.manage("readiness", "launchboard-self", "--json").stdout)
        again = board.manage("import_plan", "checklists/plans/launchboard-self.yaml").stdout
    criteria = {c["key"]: c for c in data["criteria"]}
    assert data["verdict"] == "GO", data["blockers"]
    assert criteria["page-p95"]["observed"] < 400
    assert criteria["push-p95"]["observed"] < 1000  # pages really received changes
    assert criteria["errors"]["observed"] == 0
    assert "unchanged" in again  # the command imported the very plan in the repository
