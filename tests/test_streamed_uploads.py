"""API uploads through the real server: streamed to disk, parsed while they arrive, and when
refused, cut off or a duplicate, nothing of them left behind."""

from __future__ import annotations

import http.client
import json
import re
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.server import running_server
from tests.support.uploads import post_run

pytestmark = pytest.mark.slow
FIXTURES = Path(__file__).parent / "fixtures" / "k6"
BOUNDARY = "streamed-upload-boundary"


@pytest.fixture(scope="module")
def server():
    with running_server() as s:
        out = s.manage(
            "create_token", "whatsapp-saas", "--scope", "runs:write", "--scope", "readiness:read"
        ).stdout
        s.token = re.search(r"lb_[A-Za-z0-9_-]+", out).group(0)
        yield s


def api(server, path: str) -> dict:
    request = urllib.request.Request(
        f"{server.url}{path}", headers={"Authorization": f"Bearer {server.token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def runs_in_db(server) -> list[tuple]:
    out = server.manage(
        "shell",
        "-c",
        "from metrics.models import Run; "
        "print([(r.pk, r.status, r.test) for r in Run.objects.order_by('pk')])",
    ).stdout
    return eval(out.strip().splitlines()[-1])  # noqa: S307 - our own repr of tuples


def leftover_files(server) -> list[str]:
    uploads = server.data_dir / "uploads"
    return sorted(p.name for p in uploads.iterdir()) if uploads.exists() else []


def wait_done(server, run_id: int) -> dict:
    for _ in range(300):
        run = api(server, f"/api/runs/{run_id}/")
        if run["status"] != "processing":
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} still processing")


class SlowUpload:
    """A client sending a multipart upload in pieces, as a slow link would."""

    def __init__(self, server, *, test: str = "peak", test_first: bool = False):
        self.conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        self.test, self.test_first = test, test_first
        self.token = server.token

    def start(self, total: int) -> None:
        self.head = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
            'filename="peak.ndjson"\r\nContent-Type: application/octet-stream\r\n\r\n'
        ).encode()
        self.tail = (
            f'\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name="test"\r\n\r\n'
            f"{self.test}\r\n--{BOUNDARY}--\r\n"
        ).encode()
        self.conn.putrequest("POST", "/api/launches/whatsapp-saas/runs/")
        self.conn.putheader("Authorization", f"Bearer {self.token}")
        self.conn.putheader("Content-Type", f"multipart/form-data; boundary={BOUNDARY}")
        self.conn.putheader("Content-Length", str(len(self.head) + total + len(self.tail)))
        self.conn.endheaders()
        self.conn.send(self.head)

    def send(self, data: bytes) -> None:
        self.conn.send(data)

    def finish(self) -> tuple[int, dict]:
        self.conn.send(self.tail)
        response = self.conn.getresponse()
        return response.status, json.loads(response.read())


def test_an_api_upload_is_parsed_while_it_arrives(server):
    """Half the file sent, then a pause: the run is already there and being parsed."""
    data = (FIXTURES / "peak_pass.ndjson").read_bytes()
    half = len(data) // 2
    before = len(runs_in_db(server))
    upload = SlowUpload(server)
    upload.start(len(data))
    upload.send(data[:half])
    deadline = time.monotonic() + 10
    while len(runs_in_db(server)) == before and time.monotonic() < deadline:
        time.sleep(0.1)
    during = runs_in_db(server)
    assert len(during) == before + 1 and during[-1][1] == "processing", during
    upload.send(data[half:])
    status, run = upload.finish()
    assert status == 202 and run["duplicate"] is False and run["test"] == "peak"
    done = wait_done(server, run["id"])
    assert done["status"] == "done"
    # the same figures as the file ingested from a terminal
    cli = json.loads(
        server.manage(
            "ingest_results",
            str(FIXTURES / "peak_pass.ndjson"),
            "--launch",
            "whatsapp-saas",
            "--json",
        ).stdout
    )["runs"][0]
    assert cli["duplicate"] is True and cli["id"] == run["id"]
    assert done["overall"]["requests"] > 0
    assert leftover_files(server) == []


def test_the_same_file_twice_is_one_run(server):
    path = FIXTURES / "peak_fail.ndjson"
    first_status, first = post_run(server.url, server.token, path)
    wait_done(server, first["id"])
    count = len(runs_in_db(server))
    status, again = post_run(server.url, server.token, path)
    assert (first_status, status) == (202, 202)
    assert again["duplicate"] is True and again["id"] == first["id"]
    assert len(runs_in_db(server)) == count
    assert leftover_files(server) == []


def test_an_unknown_test_named_after_the_file_leaves_nothing(server):
    before = runs_in_db(server)
    data = (FIXTURES / "peak_pass.ndjson").read_bytes() + b"\n"  # not a duplicate
    upload = SlowUpload(server, test="no-such-test")
    upload.start(len(data))
    upload.send(data)
    status, body = upload.finish()
    assert status == 400
    assert body["error"].startswith("no load test 'no-such-test' in this launch")
    time.sleep(0.5)  # a worker that was following the file has stopped
    assert runs_in_db(server) == before
    assert leftover_files(server) == []


def test_an_upload_cut_off_midway_leaves_nothing(server):
    before = runs_in_db(server)
    data = (FIXTURES / "peak_pass.ndjson").read_bytes() + b"\n\n"
    upload = SlowUpload(server)
    upload.start(len(data))
    upload.send(data[: len(data) // 2])
    time.sleep(0.5)
    upload.conn.close()  # the client goes away
    deadline = time.monotonic() + 10
    while (runs_in_db(server) != before or leftover_files(server)) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.2)
    assert runs_in_db(server) == before
    assert leftover_files(server) == []


def test_a_file_that_is_no_result_is_refused_before_a_run_exists(server, tmp_path):
    before = runs_in_db(server)
    junk = tmp_path / "notes.txt"
    junk.write_bytes(b"these are not k6 results\n" * 10_000)
    status, body = post_run(server.url, server.token, junk)
    assert status == 415 and body["error"].startswith("notes.txt: ")
    assert runs_in_db(server) == before
    assert leftover_files(server) == []


def test_a_wrong_token_is_refused_before_the_body_is_read(server):
    status, body = post_run(server.url, "lb_not-a-token", FIXTURES / "peak_pass.ndjson")
    assert status == 401 and "unknown, revoked or expired" in body["error"]
    assert leftover_files(server) == []


def test_a_file_over_the_limit_sent_without_a_length_is_413_and_leaves_nothing():
    """No Content-Length to refuse it by (chunked): it is stopped as it streams in."""
    with running_server(extra_env={"LAUNCHBOARD_UPLOAD_MAX_BYTES": str(128 * 1024)}) as small:
        out = small.manage("create_token", "whatsapp-saas", "--scope", "runs:write").stdout
        token = re.search(r"lb_[A-Za-z0-9_-]+", out).group(0)
        data = (FIXTURES / "peak_pass.ndjson").read_bytes()
        assert len(data) > 128 * 1024
        body = (
            (
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
                'filename="big.ndjson"\r\n\r\n'
            ).encode()
            + data
            + f"\r\n--{BOUNDARY}--\r\n".encode()
        )
        conn = http.client.HTTPConnection("127.0.0.1", small.port, timeout=30)
        chunks = (body[i : i + 65536] for i in range(0, len(body), 65536))
        conn.request(
            "POST",
            "/api/launches/whatsapp-saas/runs/",
            body=chunks,
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            },
            encode_chunked=True,
        )
        response = conn.getresponse()
        answer = json.loads(response.read())
        assert response.status == 413
        assert answer["error"] == "the file is larger than the limit of 131,072 bytes"
        time.sleep(0.5)
        assert runs_in_db(small) == []
        assert leftover_files(small) == []
