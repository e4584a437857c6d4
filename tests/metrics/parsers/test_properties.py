"""Hypothesis properties (reliability.md section 3.2): totality, chunking and gzip equivalence,
truncated gzip, and a render/parse round trip of generated k6 points."""

from __future__ import annotations

import gzip
import math
import tempfile
from pathlib import Path

import orjson
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from metrics.parsers import ParseError, RunResult, _parse
from metrics.parsers import reader as reader_mod
from metrics.parsers.hist import exact_percentile

from .conftest import FIXTURES

REAL = (FIXTURES / "k6" / "peak_fail.ndjson").read_bytes()
SMALL = b"".join(line + b"\n" for line in REAL.splitlines()[:120])
LOCUST = (FIXTURES / "locust" / "run_stats.csv").read_bytes()
WORK = Path(tempfile.mkdtemp(prefix="parsers-props-"))
FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def outcome(data: bytes, name: str = "in") -> RunResult | str:
    """The strict parse (no catch-all) of `data`: a RunResult or the ParseError text."""
    path = WORK / name / "input"  # same file name everywhere: messages may quote it
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    try:
        result = _parse(path, "auto", None)
    except ParseError as exc:
        return f"ParseError: {exc}"
    assert isinstance(result, RunResult)
    return result


def comparable(o):
    return o if isinstance(o, str) else o.to_dict()


@FAST
@given(st.binary(max_size=4000))
def test_any_bytes_give_a_result_or_a_parse_error(data):
    outcome(data)


@st.composite
def mutated(draw):
    data = bytearray(draw(st.sampled_from([SMALL, LOCUST])))
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["cut", "flip", "insert", "delete"]))
        if op == "cut":
            del data[i:]
        elif op == "flip" and i < len(data):
            data[i] = draw(st.integers(0, 255))
        elif op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=20))
        else:
            del data[i : i + draw(st.integers(1, 300))]
    return bytes(data)


@FAST
@given(mutated())
def test_damaged_real_files_give_a_result_or_a_parse_error(data):
    outcome(data)


@FAST
@given(st.integers(1, 70_000))
def test_chunk_size_does_not_change_the_result(chunk):
    baseline = comparable(outcome(REAL, "base"))
    old = reader_mod.CHUNK
    reader_mod.CHUNK = chunk
    try:
        assert comparable(outcome(REAL, "chunked")) == baseline
    finally:
        reader_mod.CHUNK = old


@FAST
@given(st.one_of(mutated(), st.binary(max_size=500)))
def test_gzip_gives_the_same_as_plain(data):
    assume(not data.startswith(b"\x1f\x8b"))  # that "plain" input is itself gzip
    plain = comparable(outcome(data, "plain"))
    assert comparable(outcome(gzip.compress(data), "gz")) == plain


GZ = gzip.compress(SMALL)


@FAST
@given(st.integers(0, len(GZ) - 1))
def test_truncated_gzip_is_always_a_parse_error(cut):
    assert isinstance(outcome(GZ[:cut]), str)


POINT = st.tuples(
    st.sampled_from(["a", "b", "c"]),
    st.sampled_from(["GET /x", "POST /y"]),
    st.floats(0, 60_000, allow_nan=False),
    st.booleans(),
    st.integers(0, 30),
)


def render(points) -> bytes:
    """k6 >= v0.41 lines for generated (scenario, name, ms, failed, second) points."""
    out = []
    for scn, name, ms, failed, sec in points:
        tags = {
            "expected_response": "false" if failed else "true",
            "group": "",
            "method": name.split()[0],
            "name": name,
            "scenario": scn,
            "status": "500" if failed else "200",
            "url": name,
        }
        time = f"2026-11-27T10:00:{sec:02d}.5Z"
        for metric, value in (
            ("http_reqs", 1),
            ("http_req_duration", ms),
            ("http_req_failed", int(failed)),
        ):
            out.append(
                orjson.dumps(
                    {
                        "metric": metric,
                        "type": "Point",
                        "data": {"time": time, "value": value, "tags": tags},
                    }
                )
            )
    return b"\n".join(out) + b"\n"


@settings(max_examples=100, deadline=None)
@given(st.lists(POINT, min_size=1, max_size=300))
def test_round_trip_of_generated_points(points):
    r = outcome(render(points))
    assert r.overall.requests == len(points)
    assert r.overall.failed == sum(p[3] for p in points)
    for scn in {p[0] for p in points}:
        values = sorted(p[2] for p in points if p[0] == scn)
        st_ = r.scenarios[scn]
        assert st_.requests == len(values)
        assert st_.max_ms == values[-1] and st_.min_ms == values[0]
        exact = exact_percentile(values, 95)
        # HDR: half a bucket (<= 0.05 %) or 0.5 us, whichever is larger
        assert math.isclose(st_.p95_ms, exact, rel_tol=1e-3, abs_tol=1e-3)
    assert sum(p.requests for p in r.series) == len(points)
