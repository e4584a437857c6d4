"""k6 end-of-test summaries: `--summary-export=FILE` and a handleSummary `JSON.stringify(data)`.

Both are told apart by shape (formats.md section 2):
  export         metrics[name] = {"avg":..., "p(95)":..., "thresholds": {"p(95)<400": true}}
                 where a threshold value `true` means CROSSED (failed); rates carry
                 passes/fails/value (for http_req_failed, passes = failed requests)
  handleSummary  metrics[name] = {"type", "contains", "values": {...},
                                  "thresholds": {"p(95)<400": {"ok": true}}}
Figures are the file's own (no recomputation); percentiles absent from the file are None.
"""

from __future__ import annotations

import math
import os
import re

import orjson

from .errors import ParseError
from .k6_ndjson import json_error
from .model import RunResult, Stats
from .reader import Progress, read_all, report
from .timeouts import K6_TIMEOUT_CODES

MAX_SUMMARY = 64 << 20
_SUB = re.compile(r"^([^{]+)\{(.*)\}$")


def parse_k6_summary(path: str | os.PathLike, progress: Progress | None = None) -> RunResult:
    """Parse either k6 summary shape into a RunResult (series empty, complete=True)."""
    raw = read_all(path, MAX_SUMMARY)
    if progress is not None:
        report(progress, os.path.getsize(path), os.path.getsize(path), raw.count(b"\n"))
    doc = _load(raw)
    handle = _is_handle_summary(doc["metrics"])
    metrics, thresholds = {}, []
    for name, m in doc["metrics"].items():
        metrics[name], found = _metric(name, m, handle)
        thresholds += found
    res = RunResult(
        tool="k6",
        format="k6-summary",
        lines=raw.count(b"\n") + 1,
        metrics=metrics,
        thresholds=thresholds,
    )
    _duration(doc, metrics, res)
    res.overall = _scope_stats(metrics, "", res.duration_s)
    if not res.overall.requests:
        raise ParseError("no HTTP requests in this run")
    _scopes(metrics, res)
    _checks_and_groups(doc.get("root_group"), handle, metrics, res)
    return res


def _load(raw: bytes) -> dict:
    try:
        doc = orjson.loads(raw.removeprefix(b"\xef\xbb\xbf"))
    except orjson.JSONDecodeError as exc:
        raise ParseError(json_error(exc, raw[:4096])) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("metrics"), dict):
        if isinstance(doc, dict) and "results" in doc and "version" in doc:
            raise ParseError(
                "the k6 >= v1.5 machine-readable summary is not supported yet: use "
                "--summary-export without --new-machine-readable-summary"
            )
        raise ParseError('JSON that is not a k6 summary (no "metrics" object)')
    return doc


def _is_handle_summary(metrics: dict) -> bool:
    return any(isinstance(m, dict) and isinstance(m.get("values"), dict) for m in metrics.values())


def _number(name: str, agg: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ParseError(
            f'metric "{name[:80]}": "{agg[:40]}" must be a number, not {str(value)[:40]}'
        )
    return value


def _metric(name: str, m, handle: bool) -> tuple[dict, list[dict]]:
    """(aggregates in k6 threshold names, thresholds) of one metric entry."""
    if not isinstance(m, dict):
        raise ParseError(f'metric "{name[:80]}" must be an object')
    values = m.get("values") if handle else {k: v for k, v in m.items() if k != "thresholds"}
    if not isinstance(values, dict):
        raise ParseError(f'metric "{name[:80]}" has no "values" object')
    aggs = {k: _number(name, k, v) for k, v in values.items()}
    if not handle and "passes" in aggs and "value" in aggs:  # export rate: value is the rate
        aggs["rate"] = aggs.pop("value")
    return aggs, _thresholds(name, m.get("thresholds"), handle)


def _thresholds(name: str, raw, handle: bool) -> list[dict]:
    if raw is None:
        return []
    if not isinstance(raw, dict):
        raise ParseError(f'metric "{name[:80]}": "thresholds" must be an object')
    out = []
    for expr, flag in raw.items():
        if handle:
            ok = flag.get("ok") if isinstance(flag, dict) else None
        else:
            ok = (not flag) if isinstance(flag, bool) else None  # export: true = crossed
        out.append({"metric": name, "expression": expr, "ok": ok if isinstance(ok, bool) else None})
    return out


def _duration(doc: dict, metrics: dict, res: RunResult) -> None:
    state = doc.get("state")
    ms = state.get("testRunDurationMs") if isinstance(state, dict) else None
    if isinstance(ms, int | float) and not isinstance(ms, bool) and ms > 0:
        res.duration_s = ms / 1000
        return
    reqs = metrics.get("http_reqs", {})
    if reqs.get("rate"):
        res.duration_s = reqs.get("count", 0) / reqs["rate"]
        res.warnings.append("run duration derived from http_reqs count / rate")


def _scope_stats(metrics: dict, sel: str, duration: float | None) -> Stats:
    """Stats for a submetric selector ("" for the whole run, e.g. "{scenario:peak}")."""
    dur = metrics.get(f"http_req_duration{sel}", {})
    reqs = metrics.get(f"http_reqs{sel}", {})
    failed = metrics.get(f"http_req_failed{sel}", {})
    n = reqs.get("count")
    if n is None:
        n = dur.get("count", failed.get("passes", 0) + failed.get("fails", 0))
    n = int(n)
    nfail = int(failed.get("passes", 0))
    rate = failed.get("rate", nfail / n if n else 0.0)
    return Stats(
        requests=n,
        failed=nfail,
        error_rate=rate,
        rps=reqs.get("rate", n / duration if duration else 0.0),
        p50_ms=dur.get("med"),
        p90_ms=dur.get("p(90)"),
        p95_ms=dur.get("p(95)"),
        p99_ms=dur.get("p(99)"),
        max_ms=dur.get("max"),
        avg_ms=dur.get("avg"),
        min_ms=dur.get("min"),
        timeouts=_timeouts(metrics, sel),
    )


def _timeouts(metrics: dict, sel: str) -> int:
    if sel:
        return 0
    return sum(
        int(metrics.get(f"http_reqs{{error_code:{code}}}", {}).get("count", 0))
        for code in K6_TIMEOUT_CODES
    )


def selector_tags(key: str) -> tuple[str, dict[str, str]] | None:
    """("http_req_duration", {"scenario": "peak"}) for "http_req_duration{scenario:peak}"."""
    m = _SUB.match(key)
    if not m:
        return None
    tags = {}
    for part in m.group(2).split(","):
        k, sep, v = part.partition(":")
        if not sep:
            return None
        tags[k.strip()] = v.strip()
    return m.group(1), tags


def _scopes(metrics: dict, res: RunResult) -> None:
    for key in metrics:
        parsed = selector_tags(key)
        if parsed is None or parsed[0] not in ("http_req_duration", "http_reqs", "http_req_failed"):
            continue
        sel, tags = key[len(parsed[0]) :], parsed[1]
        if set(tags) == {"scenario"} and tags["scenario"] not in res.scenarios:
            res.scenarios[tags["scenario"]] = _scope_stats(metrics, sel, res.duration_s)
        elif "name" in tags and set(tags) <= {"name", "method"}:
            label = f"{tags['method']} {tags['name']}" if "method" in tags else tags["name"]
            if label not in res.endpoints:
                res.endpoints[label] = _scope_stats(metrics, sel, res.duration_s)


def _checks_and_groups(root, handle: bool, metrics: dict, res: RunResult) -> None:
    if isinstance(root, dict):
        _walk(root, handle, metrics, res)
    c = metrics.get("checks", {})
    total = c.get("passes", 0) + c.get("fails", 0)
    res.checks_rate = (
        c.get("rate") if "rate" in c else (c.get("passes", 0) / total if total else None)
    )


def _walk(group: dict, handle: bool, metrics: dict, res: RunResult) -> None:
    checks, groups = group.get("checks") or [], group.get("groups") or []
    checks = checks if handle or isinstance(checks, list) else list(checks.values())
    groups = groups if handle or isinstance(groups, list) else list(groups.values())
    path = group.get("path") or ""
    g = None
    if path:
        reqs = metrics.get(f"http_reqs{{group:{path}}}", {})
        failed = metrics.get(f"http_req_failed{{group:{path}}}", {})
        g = res.groups.setdefault(
            path,
            {
                "requests": int(reqs.get("count", 0)),
                "failed": int(failed.get("passes", 0)),
                "checks_passes": 0,
                "checks_fails": 0,
            },
        )
    for check in checks:
        if not isinstance(check, dict) or not isinstance(check.get("name"), str):
            continue
        passes, fails = int(check.get("passes") or 0), int(check.get("fails") or 0)
        entry = res.checks.setdefault(check["name"], {"passes": 0, "fails": 0})
        entry["passes"] += passes
        entry["fails"] += fails
        if g is not None:
            g["checks_passes"] += passes
            g["checks_fails"] += fails
    for sub in groups:
        if isinstance(sub, dict):
            _walk(sub, handle, metrics, res)
