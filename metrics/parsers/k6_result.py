"""Turning the k6 NDJSON aggregation state into a RunResult, and the file-level driver."""

from __future__ import annotations

import os
from collections import defaultdict

from .errors import ParseError
from .hist import Hist
from .k6_ndjson import K6Ndjson
from .k6_state import Leaf
from .k6_time import BadValue, frac_seconds, to_datetime
from .model import RunResult, Stats
from .reader import LineReader, Progress, Source
from .thresholds import evaluate


def parse_k6_ndjson(path: str | os.PathLike, progress: Progress | None = None) -> RunResult:
    """Stream a k6 NDJSON file (plain or gzip) into a RunResult; ParseError on bad input."""
    p = K6Ndjson()
    with Source(path) as src:
        reader = LineReader(src, progress)
        try:
            for batch in reader:
                p.feed(batch)
            tail = reader.tail
            if tail.strip():
                p.feed([tail])
        except BadValue as exc:
            raise ParseError(exc.message, getattr(exc, "lineno", None)) from None
    return finish(p, cut=bool(tail.strip()))


def finish(p: K6Ndjson, cut: bool) -> RunResult:
    """Build the RunResult; `cut` says the file did not end with a newline."""
    p.scopes.fold()
    if not any(leaf.requests for leaf in p.scopes.leaves.values()):
        if p.pending is not None:
            raise ParseError(p.pending.message, p.pending_line)
        raise ParseError("no HTTP requests in this run")
    res = RunResult(tool="k6", format="k6-json", lines=p.lineno, warnings=p.warnings)
    _completeness(p, cut, res)
    _times(p, res)
    fail_points = p.failed_points()
    legacy = fail_points == 0
    if legacy:
        res.warnings.append(
            "no http_req_failed metric (k6 < v0.31): failures are requests "
            "with status >= 400 or an error code"
        )
    leaves = list(p.scopes.leaves.values())
    merged = _merge(leaves)
    res.overall = _stats(leaves, merged, res.duration_s, legacy)
    res.scenarios = _by(leaves, lambda lf: lf.scenario, res.duration_s, legacy)
    res.endpoints = _by(leaves, lambda lf: lf.endpoint, res.duration_s, legacy)
    res.timeout_breakdown = dict(sorted(p.scopes.timeouts.items()))
    _checks(p, res)
    _groups(p, leaves, res, legacy)
    res.series = p.series.points(p.vus_by_sec)
    if p.series.late:
        res.warnings.append(
            f"{p.series.late} durations arrived more than 5 s out of order "
            "and are left out of their second's p95"
        )
    _metrics(p, leaves, merged, res, fail_points)
    res.thresholds = _thresholds(p, merged, res.metrics)
    return res


def _completeness(p: K6Ndjson, cut: bool, res: RunResult) -> None:
    if p.pending is not None:
        res.complete = False
        res.incomplete_reason = (
            f"the last line ({p.pending_line}) is cut off or unreadable "
            f"({p.pending.message}); figures use the lines before it"
        )
        res.lines = p.pending_line - 1
    elif cut:
        res.complete = False
        res.incomplete_reason = "the file does not end with a newline (k6 was stopped mid-write?)"


def _times(p: K6Ndjson, res: RunResult) -> None:
    try:
        span = p.span()
    except BadValue as exc:
        raise ParseError(exc.message) from None
    if span is None:
        return
    lo_sec, lo_frac, hi_sec, hi_frac = span
    res.started_at = to_datetime(lo_sec, lo_frac)
    res.ended_at = to_datetime(hi_sec, hi_frac)
    res.duration_s = (hi_sec - lo_sec) + frac_seconds(hi_frac) - frac_seconds(lo_frac)


def _merge(leaves: list[Leaf]) -> Hist:
    out = Hist()
    for leaf in leaves:
        out.merge(leaf.hist)
    return out


def _stats(leaves: list[Leaf], hist: Hist, duration: float | None, legacy: bool) -> Stats:
    requests = sum(lf.requests for lf in leaves)
    failed = sum(lf.legacy_failed if legacy else lf.failed for lf in leaves)
    pct = hist.percentiles([50, 90, 95, 99])
    return Stats(
        requests=requests,
        failed=failed,
        error_rate=failed / requests if requests else 0.0,
        rps=requests / duration if duration else 0.0,
        p50_ms=pct[50],
        p90_ms=pct[90],
        p95_ms=pct[95],
        p99_ms=pct[99],
        max_ms=hist.hi if hist.n else None,
        avg_ms=hist.total / hist.n if hist.n else None,
        min_ms=hist.lo if hist.n else None,
        timeouts=sum(lf.timeouts for lf in leaves),
    )


def _by(leaves, key, duration, legacy) -> dict[str, Stats]:
    """Stats per value of key(leaf), skipping leaves whose key is None or ""."""
    parts: dict[str, list[Leaf]] = defaultdict(list)
    for leaf in leaves:
        k = key(leaf)
        if k:
            parts[k].append(leaf)
    return {k: _stats(v, _merge(v), duration, legacy) for k, v in sorted(parts.items())}


def _checks(p: K6Ndjson, res: RunResult) -> None:
    passes = fails = 0
    for (name, _group), (f, ok) in p.checks.items():
        c = res.checks.setdefault(name, {"passes": 0, "fails": 0})
        c["passes"] += ok
        c["fails"] += f
        passes, fails = passes + ok, fails + f
    res.checks_rate = passes / (passes + fails) if passes + fails else None


def _groups(p: K6Ndjson, leaves: list[Leaf], res: RunResult, legacy: bool) -> None:
    def group(name):
        return res.groups.setdefault(
            name, {"requests": 0, "failed": 0, "checks_passes": 0, "checks_fails": 0}
        )

    for leaf in leaves:
        if leaf.group:
            g = group(leaf.group)
            g["requests"] += leaf.requests
            g["failed"] += leaf.legacy_failed if legacy else leaf.failed
    for (_name, gname), (f, ok) in p.checks.items():
        if gname:
            g = group(gname)
            g["checks_passes"] += ok
            g["checks_fails"] += f
    res.groups = dict(sorted(res.groups.items()))


def _metrics(p: K6Ndjson, leaves: list[Leaf], merged: Hist, res: RunResult, fails: int) -> None:
    m, dur = res.metrics, res.duration_s
    m["http_reqs"] = {"count": res.overall.requests, "rate": res.overall.rps}
    m["http_req_failed"] = _rate(res.overall.failed, fails or res.overall.requests)
    m["http_req_duration"] = merged.summary()
    m["http_req_duration{expected_response:true}"] = _merge(
        [lf for lf in leaves if lf.expected]
    ).summary()
    for name, st in res.scenarios.items():
        part = [lf for lf in leaves if lf.scenario == name]
        m[f"http_req_duration{{scenario:{name}}}"] = _merge(part).summary()
        m[f"http_reqs{{scenario:{name}}}"] = {"count": st.requests, "rate": st.rps}
        m[f"http_req_failed{{scenario:{name}}}"] = _rate(st.failed, st.requests)
    passes = sum(ok for _, ok in p.checks.values())
    m["checks"] = _rate(passes, passes + sum(f for f, _ in p.checks.values()))
    for name, agg in sorted(p.aggs.items()):
        m[name] = agg.figures(dur)


def _rate(passes: int, total: int) -> dict[str, float]:
    return {"rate": passes / total if total else 0.0, "passes": passes, "fails": total - passes}


def _thresholds(p: K6Ndjson, merged: Hist, metrics: dict) -> list[dict]:
    out = []
    for name, d in p.defs.items():
        for expr in d["thresholds"]:
            ok = evaluate(expr, lambda agg, name=name: _lookup(p, merged, metrics, name, agg))
            out.append({"metric": name, "expression": expr, "ok": ok})
    return out


def _lookup(p: K6Ndjson, merged: Hist, metrics: dict, name: str, agg: str) -> float | None:
    value = metrics.get(name, {}).get(agg)
    if value is not None or not agg.startswith("p("):
        return value
    q = float(agg[2:-1])
    if name == "http_req_duration":
        return merged.percentiles([q])[q]
    a = p.aggs.get(name)
    return a.hist.percentile(q) if a is not None and a.hist is not None else None
