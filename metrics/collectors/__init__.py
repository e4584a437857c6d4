"""Live-metrics collectors: one poll of one source (InfluxDB 1.x/2.x, CloudWatch metrics and
alarms) in, readings or a SourceError out. Pure I/O: no Django, no database.

    problems = validate_config(spec.kind, spec.config)          # at plan import, no I/O
    ok, reason = is_configured(spec)                            # env vars present? no I/O
    result = poll(spec, [Query("peak-p95", "p(95)", 300)], now=datetime.now(UTC))

Contract of poll(): it returns a PollResult or raises SourceError, nothing else. A Reading
whose value is None had no data in its window; that is never a pass (the caller shows
pending/stale). Each poll has explicit connect/read timeouts and a small bounded retry
(InfluxDB: up to 3 attempts, backoff 0.05-0.2 s with jitter, only for refused/reset
connections, 429 and 502-504; CloudWatch: botocore standard mode, 3 attempts in total).

Time bound: `timeout_s` is the budget of the whole poll. InfluxDB polls end within about
timeout_s: connecting and reading share what is left of it, no retry starts without room, and
a server trickling bytes is cut off at the first chunk after the deadline. CloudWatch polls
start no attempt (and follow no NextToken) after timeout_s, so they end within timeout_s plus
at most one attempt already under way (connect 2 s + read timeout_s): under 2 * timeout_s + 3 s.
Failures end sooner: refused connections in well under 1 s, a hung server at timeout_s (for
CloudWatch plus client set-up and botocore's short backoff, about 0.3 s), throttling after 3
attempts and at most 1 s + 2 s of botocore backoff. A Celery soft time limit of
3 * timeout_s + 5 s is always enough.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Mapping, Sequence
from datetime import datetime

from .envvars import base_url, env_value
from .types import (
    ALARM_STATES,
    DEFAULT_WINDOW_S,
    ERROR_KINDS,
    KINDS,
    AlarmState,
    PollResult,
    Query,
    Reading,
    SourceError,
    SourceSpec,
    window_of,
)
from .validation import validate_config, validate_query

__all__ = [
    "ALARM_STATES",
    "DEFAULT_WINDOW_S",
    "ERROR_KINDS",
    "KINDS",
    "AlarmState",
    "PollResult",
    "Query",
    "Reading",
    "SourceError",
    "SourceSpec",
    "is_configured",
    "poll",
    "validate_config",
    "validate_query",
    "window_of",
]

log = logging.getLogger(__name__)


def _backend(module: str):
    """The poll() of a backend, imported when first used: influxdb-client and boto3 take half a
    second and 60 MB to import, which a command that only ingests a file should not pay."""

    def poll_with(*args, **kwargs):
        return importlib.import_module(f"{__name__}.{module}").poll(*args, **kwargs)

    return poll_with


_POLLERS = {
    "influxdb1": _backend("influxdb1"),
    "influxdb2": _backend("influxdb2"),
    "cloudwatch": _backend("cloudwatch"),
    "cloudwatch-alarms": _backend("cloudwatch_alarms"),
}
# Celery/billiard time limits arrive as Exception subclasses inside the poll; they are the
# task's business, not a failure of the source, so they pass through (matched by name: the
# collectors do not import Celery).
_TASK_SIGNALS = frozenset({"SoftTimeLimitExceeded", "TimeLimitExceeded", "Terminated"})
_SOURCE_NAMES = {
    "influxdb1": "InfluxDB",
    "influxdb2": "InfluxDB",
    "cloudwatch": "CloudWatch",
    "cloudwatch-alarms": "CloudWatch",
}


def is_configured(spec: SourceSpec, env: Mapping[str, str] = os.environ) -> tuple[bool, str]:
    """(True, "") when the source can be polled; else (False, what to set). No network call.

    InfluxDB: the URL variable (and the credential or token variables the config names) must be
    set. CloudWatch: a region and credentials must be resolvable (see aws.credentials_reason).
    """
    problems = validate_config(spec.kind, spec.config)
    if problems:
        return False, f"the source is declared wrongly: {problems[0]}"
    if spec.kind in ("influxdb1", "influxdb2"):
        reason = _influx_reason(spec.config, env)
    else:
        reason = _aws_reason(spec.config, env)
    return (reason is None), (reason or "")


def _influx_reason(config: Mapping, env: Mapping[str, str]) -> str | None:
    for key in ("url_env", "token_env", "username_env", "password_env"):
        if config.get(key) and env_value(env, config[key]) is None:
            return f"set {config[key]} to enable this source"
    try:
        base_url(env_value(env, config["url_env"]), config["url_env"], "the InfluxDB server")
    except SourceError as error:
        return error.message
    return None


def _aws_reason(config: Mapping, env: Mapping[str, str]) -> str | None:
    aws = importlib.import_module(f"{__name__}.aws")  # boto3: only for AWS sources (_backend)
    try:
        aws.target(config, env)
    except SourceError as error:
        return error.message
    return aws.credentials_reason(env)


def poll(
    spec: SourceSpec,
    queries: Sequence[Query],
    *,
    now: datetime,
    chart_window_s: int = 1800,
    env: Mapping[str, str] = os.environ,
    timeout_s: float = 5.0,
) -> PollResult:
    """One poll of one source; see the module docstring. Raises only SourceError."""
    _check_request(spec, queries, now, chart_window_s, timeout_s)
    configured, reason = is_configured(spec, env)
    if not configured:
        raise SourceError("config", reason)
    try:
        return _POLLERS[spec.kind](
            spec.config,
            list(queries),
            now=now,
            chart_window_s=chart_window_s,
            env=env,
            timeout_s=timeout_s,
        )
    except SourceError as error:
        log.info("source %s: %s (%s) %s", spec.key, error.kind, error.message, error.detail)
        raise
    except Exception as error:
        if type(error).__name__ in _TASK_SIGNALS:
            raise
        # A bug or a library surprise: callers must still only ever see SourceError.
        log.exception("source %s: unexpected failure", spec.key)
        name = _SOURCE_NAMES.get(spec.kind, "the source")
        message = f"{name} answered with something the collector could not read"
        raise SourceError("bad_response", message, detail=repr(error)[:300]) from error


def _check_request(spec, queries, now, chart_window_s, timeout_s) -> None:
    """Refuse, as SourceError("config"), a call that cannot be meant."""
    if not isinstance(spec, SourceSpec):
        raise SourceError("config", "poll() needs a SourceSpec")
    problems = validate_config(spec.kind, spec.config)
    for query in queries if not problems else []:
        if not isinstance(query, Query):
            problems.append(f"{query!r} is not a Query")
        else:
            problems += validate_query(spec.kind, spec.config, query)
    if not isinstance(now, datetime) or now.tzinfo is None:
        problems.append("now must be a timezone-aware datetime")
    if (
        isinstance(chart_window_s, bool)
        or not isinstance(chart_window_s, int)
        or chart_window_s < 1
    ):
        problems.append("chart_window_s must be a whole number of seconds, at least 1")
    if not isinstance(timeout_s, int | float) or not 0 < timeout_s <= 120:
        problems.append("timeout_s must be a number of seconds between 0 and 120")
    if problems:
        raise SourceError("config", f"source {spec.key!r} cannot be polled: {problems[0]}")
