"""Deterministic generator of a realistic k6 v1.1 `--out json` NDJSON file (for benchmarks).

    python bench/gen_k6.py OUT.ndjson[.gz] LINES [--seed 42]

Shape (docs/benchmarks/ingest.md, after performance.md section 2a): Metric lines written lazily
right before each metric's first Point (http_req_duration with its submetric list and a
threshold); Point lines with k6 >= v0.41 key order and the tag set expected_response, group,
method, name, proto, scenario, status, tls_version, url (+ error, error_code on network errors).
Per request 9 http_* Points and 1 `checks` Point; per iteration data_sent, data_received,
iteration_duration and iterations; vus and vus_max once a second. Three scenarios (browse, peak,
api_smoke) with 2-3 requests per iteration, log-normal latencies, about 1.5 % errors (status 0
with 1050 timeout or 1212 refused, 404, 500, 503) and VUs ramping from 50 to 500. Points are
written in end-time order with rare sub-millisecond steps backwards, as k6 does.
"""

from __future__ import annotations

import argparse
import gzip
import heapq
import math
import random
import sys

T0 = 1_795_740_000  # 2026-11-27T01:20:00Z
LINES_PER_ITER = 4 + 2.5 * 10
SCENARIOS = {  # name: (share of VUs, [(method, name, median ms, sigma)])
    "browse": (
        0.5,
        [
            ("GET", "GET /api/messages", 40, 0.6),
            ("GET", "GET /api/feed", 70, 0.7),
            ("GET", "GET /static/app.js", 8, 0.5),
        ],
    ),
    "peak": (
        0.35,
        [
            ("POST", "POST /api/messages", 90, 0.8),
            ("GET", "GET /api/messages", 45, 0.6),
            ("GET", "GET /api/search", 150, 0.9),
        ],
    ),
    "api_smoke": (0.15, [("GET", "GET /api/health", 5, 0.4), ("GET", "GET /api/version", 6, 0.4)]),
}
HTTP_TRENDS = (
    "http_req_duration",
    "http_req_blocked",
    "http_req_connecting",
    "http_req_tls_handshaking",
    "http_req_sending",
    "http_req_waiting",
    "http_req_receiving",
)
METRIC_DEFS = {
    "http_reqs": ("counter", "default"),
    "http_req_failed": ("rate", "default"),
    "checks": ("rate", "default"),
    "data_sent": ("counter", "data"),
    "data_received": ("counter", "data"),
    "iteration_duration": ("trend", "time"),
    "iterations": ("counter", "default"),
    "vus": ("gauge", "default"),
    "vus_max": ("gauge", "default"),
    **dict.fromkeys(HTTP_TRENDS, ("trend", "time")),
}


def rfc3339(t: float) -> str:
    """Go RFC3339Nano in UTC with trailing zeros trimmed, like k6 under TZ=UTC."""
    sec = int(t)
    ns = round((t - sec) * 1e9)
    if ns >= 1_000_000_000:
        sec, ns = sec + 1, ns - 1_000_000_000
    h, rem = divmod(sec % 86400, 3600)
    days = sec // 86400
    y, mo, d = _civil(days)
    base = f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{rem // 60:02d}:{rem % 60:02d}"
    frac = f"{ns:09d}".rstrip("0")
    return f"{base}.{frac}Z" if frac else f"{base}Z"


def _civil(days: int) -> tuple[int, int, int]:
    """Days since 1970-01-01 to (year, month, day) (Howard Hinnant's algorithm)."""
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (m <= 2), m, d


class Writer:
    """Writes Point lines, emitting each metric's Metric line lazily before its first Point."""

    def __init__(self, out):
        self.out = out
        self.lines = 0
        self.declared: set[str] = set()

    def metric_line(self, name: str) -> None:
        kind, contains = METRIC_DEFS[name]
        thresholds, subs = "[]", "null"
        if name == "http_req_duration":
            thresholds = '["p(95)<400"]'
            subs = (
                '[{"name":"http_req_duration{expected_response:true}",'
                '"suffix":"expected_response:true","tags":{"expected_response":"true"}}]'
            )
        elif name == "http_req_failed":
            thresholds = '["rate<0.01"]'
        self.out.write(
            f'{{"type":"Metric","data":{{"name":"{name}","type":"{kind}",'
            f'"contains":"{contains}","thresholds":{thresholds},'
            f'"submetrics":{subs}}},"metric":"{name}"}}\n'
        )
        self.lines += 1
        self.declared.add(name)

    def point(self, name: str, ts: str, value: str, tags: str) -> None:
        if name not in self.declared:
            self.metric_line(name)
        self.out.write(
            f'{{"metric":"{name}","type":"Point","data":{{"time":"{ts}",'
            f'"value":{value},"tags":{tags}}}}}\n'
        )
        self.lines += 1


def fmt(v: float) -> str:
    """Like Go's strconv 'f' -1 for the magnitudes k6 writes (no exponent, trimmed)."""
    s = f"{v:.6f}".rstrip("0").rstrip(".")
    return s or "0"


def http_tags(scn: str, method: str, name: str, status: str, group: str, err: str) -> str:
    exp = "true" if status not in ("0",) and int(status) < 400 else "false"
    extra = ""
    if err == "1050":
        extra = '"error":"request timeout","error_code":"1050",'
    elif err == "1212":
        extra = '"error":"dial: connection refused","error_code":"1212",'
    elif err:
        extra = f'"error_code":"{err}",'
    proto = "" if status == "0" else '"proto":"HTTP/1.1",'
    return (
        f'{{{extra}"expected_response":"{exp}","group":"{group}","method":"{method}",'
        f'"name":"{name}",{proto}"scenario":"{scn}","status":"{status}",'
        f'"tls_version":"tls1.3","url":"{name}"}}'
    )


def outcome(rng: random.Random) -> tuple[str, str]:
    """(status, error_code) with about 1.5 % errors."""
    r = rng.random()
    if r >= 0.015:
        return "200", ""
    return rng.choice(
        [("0", "1050"), ("0", "1212"), ("404", "1404"), ("500", "1500"), ("503", "1503")]
    )


def iteration(rng, scn: str, start: float) -> list[tuple[float, int, tuple]]:
    """Events (time, seq, payload) of one iteration of scenario `scn` starting at `start`."""
    reqs = SCENARIOS[scn][1]
    n = 3 if scn != "api_smoke" and rng.random() < 0.5 else 2
    t, events, group = start, [], "::main" if scn == "browse" else ""
    for method, name, med, sigma in rng.sample(reqs, min(n, len(reqs))):
        status, err = outcome(rng)
        dur = (
            0.0
            if err == "1212"
            else (1000.0 if err == "1050" else rng.lognormvariate(math.log(med), sigma))
        )
        t += 0.0005 + dur / 1000
        events.append((t, ("req", scn, method, name, status, err, dur, group)))
        t += 0.001
    events.append((t + 0.0002, ("iter", scn, t + 0.0002 - start)))
    return events


def write_request(w: Writer, rng, ts: str, ev: tuple) -> None:
    _, scn, method, name, status, err, dur, group = ev
    tags = http_tags(scn, method, name, status, group, err)
    w.point("http_reqs", ts, "1", tags)
    w.point("http_req_duration", ts, fmt(dur), tags)
    parts = [rng.random() * 0.02, 0.0, 0.0, rng.random() * 0.03, dur * 0.97, dur * 0.01]
    for metric, v in zip(HTTP_TRENDS[1:], parts, strict=True):
        w.point(metric, ts, fmt(v), tags)
    w.point(
        "http_req_failed", ts, "1" if tags.find('"expected_response":"false"') >= 0 else "0", tags
    )
    ok = "1" if status == "200" else "0"
    w.point("checks", ts, ok, f'{{"check":"status is 200","group":"{group}","scenario":"{scn}"}}')


def write_iteration(w: Writer, ts: str, ev: tuple) -> None:
    _, scn, dur_s = ev
    tags = f'{{"group":"","scenario":"{scn}"}}'
    w.point("data_sent", ts, "412", tags)
    w.point("data_received", ts, "2394", tags)
    w.point("iteration_duration", ts, fmt(dur_s * 1000), tags)
    w.point("iterations", ts, "1", tags)


def vus_at(sec: int, total_s: int) -> int:
    """Ramp 50 -> 500 over the first 60 % of the run, hold, then down to 300."""
    x = sec / max(total_s, 1)
    if x < 0.6:
        return int(50 + 450 * x / 0.6)
    return 500 if x < 0.85 else 300


def generate(out, target_lines: int, seed: int = 42) -> int:
    """Write at least `target_lines` lines (stops at the next whole second); returns lines."""
    rng = random.Random(seed)
    w = Writer(out)
    total_s = max(10, int(target_lines / (LINES_PER_ITER * 330)))
    heap: list = []
    seq, sec = 0, 0
    shares = [(name, share) for name, (share, _) in SCENARIOS.items()]
    while w.lines < target_lines or heap:
        if w.lines < target_lines:
            seq = _start_second(rng, heap, seq, sec, vus_at(sec, total_s), shares)
        _flush_until(w, rng, heap, T0 + sec + 1)
        vus = str(vus_at(sec, total_s))
        ts = rfc3339(T0 + sec + 1 + 0.000123)
        w.point("vus", ts, vus, "{}")
        w.point("vus_max", ts, "500", "{}")
        sec += 1
    return w.lines


def _start_second(rng, heap, seq, sec, vus, shares) -> int:
    """Queue one iteration per VU starting within second `sec` (1 s think time)."""
    for v in range(vus):
        r = (v * 0.618034) % 1.0
        scn = (
            shares[0][0]
            if r < shares[0][1]
            else (shares[1][0] if r < shares[0][1] + shares[1][1] else shares[2][0])
        )
        for t, ev in iteration(rng, scn, T0 + sec + rng.random()):
            seq += 1
            heapq.heappush(heap, (t, seq, ev))
    return seq


def _flush_until(w: Writer, rng, heap, limit: float) -> None:
    while heap and heap[0][0] < limit:
        t, _, ev = heapq.heappop(heap)
        if rng.random() < 0.001:
            t -= 0.00009  # k6 points are not strictly time-ordered (<0.1 ms back)
        ts = rfc3339(t)
        if ev[0] == "req":
            write_request(w, rng, ts, ev)
        else:
            write_iteration(w, ts, ev)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("lines", type=int)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args(argv)
    opener = gzip.open if args.out.endswith(".gz") else open
    with opener(args.out, "wt", encoding="utf-8", newline="\n") as out:
        n = generate(out, args.lines, args.seed)
    print(f"{args.out}: {n} lines", file=sys.stderr)


if __name__ == "__main__":
    main()
