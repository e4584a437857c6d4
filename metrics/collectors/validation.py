"""Checking a declared source at plan-import time: plain-words problems, no I/O.

The config keys of each kind are documented in the module of that kind (influxdb1, influxdb2,
cloudwatch, cloudwatch_alarms). Secrets never belong in a plan: a key such as `password` or
`url` is refused with a message that names the `*_env` key to use instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from . import cwstats
from .aggregates import parse_aggregate
from .influxql import check_text
from .types import KINDS, Query

MAX_WINDOW_S = 15 * 24 * 3600  # CloudWatch keeps 60 s data 15 days; longer windows mean nothing
MAX_ALARMS = 500
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_REGION = re.compile(r"[a-z]{2,}(-[a-z]+)+-\d+")
_AWS_COMMON = {"region", "region_env", "endpoint_url_env"}
_SOURCE_KEYS = {  # kind: (required, optional)
    "influxdb1": (
        {"url_env", "database", "metrics"},
        {"username_env", "password_env", "retention_policy", "where", "step_s"},
    ),
    "influxdb2": ({"url_env", "token_env", "org", "bucket", "metrics"}, {"where", "step_s"}),
    "cloudwatch": ({"metrics"}, _AWS_COMMON),
    "cloudwatch-alarms": ({"alarms"}, _AWS_COMMON),
}
_METRIC_KEYS = {
    "influxdb1": ({"measurement"}, {"field", "where"}),
    "influxdb2": ({"measurement"}, {"field", "where"}),
    "cloudwatch": ({"namespace", "metric", "stat"}, {"dimensions", "period", "unit"}),
}
_SECRET_KEYS = {
    "url": "url_env",
    "username": "username_env",
    "user": "username_env",
    "password": "password_env",
    "token": "token_env",
    "endpoint_url": "endpoint_url_env",
}
_AWS_SECRET_KEYS = {"aws_access_key_id", "aws_secret_access_key", "aws_session_token"}


def validate_config(kind: str, config: object) -> list[str]:
    """Problems with a declared source, in plain words; [] when it is fine."""
    if kind not in KINDS:
        return [f"unknown source kind {kind!r}: use one of {', '.join(KINDS)}"]
    if not isinstance(config, Mapping):
        return ["the source's settings must be a mapping of keys to values"]
    required, optional = _SOURCE_KEYS[kind]
    problems = _keys(config, required, optional, "")
    problems += _env_names(config)
    if kind in ("influxdb1", "influxdb2"):
        problems += _influx(kind, config)
    else:
        problems += _aws(config)
    if kind == "cloudwatch":
        problems += _metrics(kind, config.get("metrics"), _cloudwatch_metric)
    if kind == "cloudwatch-alarms":
        problems += _alarms(config.get("alarms"))
    return problems


def validate_query(kind: str, config: Mapping, query: Query) -> list[str]:
    """Problems with one Query against a (valid) declared source; [] when it is fine."""
    if kind == "cloudwatch-alarms":
        return ["an alarm source reports its alarms and takes no metric queries"]
    metrics = config.get("metrics") or {}
    if query.metric not in metrics:
        declared = ", ".join(sorted(metrics)) or "none"
        return [f"metric {query.metric!r} is not declared in this source (declared: {declared})"]
    problems = _window(query.window_s)
    try:
        aggregate = parse_aggregate(query.aggregate)
    except ValueError as error:
        return [*problems, str(error)]
    if kind == "cloudwatch":
        problems += _cloudwatch_query(metrics[query.metric], aggregate, query.window_s)
    return problems


def _window(window_s: object) -> list[str]:
    if isinstance(window_s, bool) or not isinstance(window_s, int) or window_s < 1:
        return [f"window_s {window_s!r} must be a whole number of seconds, at least 1"]
    if window_s > MAX_WINDOW_S:
        return [f"window_s {window_s} is longer than 15 days"]
    return []


def _cloudwatch_query(metric: Mapping, aggregate, window_s: object) -> list[str]:
    problem = cwstats.combination_problem(metric["stat"], aggregate)
    problems = [problem] if problem else []
    period = metric.get("period", 60)
    if isinstance(window_s, int) and window_s < period:
        problems.append(f"window_s {window_s} is shorter than the metric's period ({period} s)")
    return problems


def _keys(mapping: Mapping, required: set, optional: set, prefix: str) -> list[str]:
    problems = []
    for key in mapping:
        if key in _SECRET_KEYS:
            problems.append(
                f"{prefix}{key!r} does not belong in a plan: put the value in an environment"
                f" variable and name that variable with {_SECRET_KEYS[key]!r}"
            )
        elif str(key).lower() in _AWS_SECRET_KEYS:
            problems.append(
                f"{prefix}{key!r} does not belong in a plan: AWS credentials come from boto3's"
                " standard chain (environment variables, profile, instance or task role)"
            )
        elif key not in required | optional:
            allowed = ", ".join(sorted(required | optional))
            problems.append(f"{prefix}unknown key {key!r} (allowed: {allowed})")
    problems += [f"{prefix}{key!r} is required" for key in sorted(required - set(mapping))]
    return problems


def _env_names(config: Mapping) -> list[str]:
    problems = []
    for key in sorted(k for k in config if str(k).endswith("_env")):
        value = config[key]
        if not isinstance(value, str) or not _ENV_NAME.fullmatch(value):
            problems.append(f"{key!r} must name an environment variable, like LAUNCHBOARD_X_URL")
    return problems


def _text(mapping: Mapping, key: str, prefix: str) -> list[str]:
    if key not in mapping:
        return []
    try:
        check_text(mapping[key], f"{prefix}{key!r}")
    except ValueError as error:
        return [str(error)]
    return []


def _influx(kind: str, config: Mapping) -> list[str]:
    problems = []
    for key in ("database", "retention_policy", "org", "bucket"):
        problems += _text(config, key, "")
    if kind == "influxdb1" and ("username_env" in config) != ("password_env" in config):
        problems.append("'username_env' and 'password_env' go together: give both or neither")
    problems += _where(config.get("where"), "")
    if "step_s" in config:
        problems += _int_between(config["step_s"], "'step_s'", 1, 3600)
    problems += _metrics(kind, config.get("metrics"), _influx_metric)
    return problems


def _influx_metric(key: str, entry: Mapping) -> list[str]:
    prefix = f"metric {key!r}: "
    problems = _text(entry, "measurement", prefix) + _text(entry, "field", prefix)
    return problems + _where(entry.get("where"), prefix)


def _where(where: object, prefix: str) -> list[str]:
    if where is None:
        return []
    if not isinstance(where, Mapping):
        return [f"{prefix}'where' must map tag names to values, like {{testid: rc1}}"]
    problems = []
    for tag, value in where.items():
        try:
            check_text(tag, f"{prefix}a tag name in 'where'")
            check_text(value, f"{prefix}where {tag!r}", allow_empty=True)
        except ValueError as error:
            problems.append(str(error))
    return problems


def _int_between(value: object, what: str, low: int, high: int) -> list[str]:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return [f"{what} must be a whole number from {low} to {high}"]
    return []


def _metrics(kind: str, metrics: object, check_entry) -> list[str]:
    if metrics is None:
        return []
    if not isinstance(metrics, Mapping) or not metrics:
        return ["'metrics' must map at least one metric key to its settings"]
    required, optional = _METRIC_KEYS[kind]
    problems = []
    for key, entry in metrics.items():
        if not isinstance(key, str) or not key:
            problems.append(f"metric key {key!r} must be non-empty text")
        elif not isinstance(entry, Mapping):
            problems.append(f"metric {key!r} must be a mapping of settings")
        else:
            problems += _keys(entry, required, optional, f"metric {key!r}: ")
            problems += check_entry(key, entry)
    return problems


def _aws(config: Mapping) -> list[str]:
    if "region" in config and "region_env" in config:
        return ["give 'region' or 'region_env', not both"]
    region = config.get("region")
    if region is not None and (not isinstance(region, str) or not _REGION.fullmatch(region)):
        return [f"'region' {region!r} is not an AWS region name like us-east-1"]
    return []


def _cloudwatch_metric(key: str, entry: Mapping) -> list[str]:
    prefix = f"metric {key!r}: "
    problems = []
    for field in ("namespace", "metric", "unit"):
        problems += _text(entry, field, prefix)
    if "stat" in entry and (problem := cwstats.stat_problem(entry["stat"])):
        problems.append(prefix + problem)
    if "period" in entry and (problem := cwstats.period_problem(entry["period"])):
        problems.append(prefix + problem)
    return problems + _dimensions(entry.get("dimensions"), prefix)


def _dimensions(dimensions: object, prefix: str) -> list[str]:
    if dimensions is None:
        return []
    if not isinstance(dimensions, Mapping) or len(dimensions) > 30:
        return [f"{prefix}'dimensions' must map up to 30 dimension names to values"]
    problems = []
    for name, value in dimensions.items():
        try:
            check_text(name, f"{prefix}a dimension name")
            check_text(value, f"{prefix}dimension {name!r}")
        except ValueError as error:
            problems.append(str(error))
    return problems


def _alarms(alarms: object) -> list[str]:
    if alarms is None:
        return []
    if not isinstance(alarms, list) or not alarms or len(alarms) > MAX_ALARMS:
        return [f"'alarms' must list from 1 to {MAX_ALARMS} alarm names"]
    problems = []
    for name in alarms:
        try:
            check_text(name, "an alarm name")
        except ValueError as error:
            problems.append(str(error))
    duplicates = sorted({n for n in alarms if isinstance(n, str) and alarms.count(n) > 1})
    if duplicates:
        problems.append(f"'alarms' names {', '.join(duplicates)} more than once")
    return problems
