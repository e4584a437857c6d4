"""CloudWatch alarms through boto3 `describe_alarms` (metric and composite alarms).

Config (what a launch plan declares; credentials come from the environment, see aws.py):

    region / region_env / endpoint_url_env   as for the cloudwatch kind
    alarms            required  ["database-connections-high", "api-high-error-rate", ...]

The result lists one AlarmState per declared name, in the declared order. A declared alarm
that does not exist is reported with state "MISSING" (reason says so, updated_at is the poll
time) rather than dropped: a deleted or renamed alarm must not look like a quiet one.
AlarmTypes is always given, because without it AWS returns metric alarms only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime

from . import aws
from .retry import Deadline
from .timeutil import as_utc, utcnow
from .types import AlarmState, PollResult, Query, SourceError

NAMES_PER_CALL = 100  # describe_alarms accepts at most 100 AlarmNames
MAX_PAGES = 20


def poll(
    config: Mapping,
    queries: Sequence[Query],
    *,
    now: datetime,
    chart_window_s: int,
    env: Mapping[str, str],
    timeout_s: float,
) -> PollResult:
    """One poll; see metrics.collectors.poll for the contract. `queries` must be empty."""
    where = aws.target(config, env)
    names = list(config["alarms"])
    deadline = Deadline(timeout_s)
    found = aws.call(lambda: _describe(where, env, timeout_s, deadline, names), where, timeout_s)
    polled_at = utcnow()
    alarms = [found.get(name) or _missing(name, where, polled_at) for name in names]
    return PollResult(readings=[], alarms=alarms, polled_at=polled_at)


def _describe(where, env, timeout_s, deadline, names) -> dict[str, AlarmState]:
    client = aws.new_client("cloudwatch", where, env, timeout_s)
    aws.guard_deadline(client, deadline)
    found: dict[str, AlarmState] = {}
    try:
        for offset in range(0, len(names), NAMES_PER_CALL):
            _describe_chunk(client, names[offset : offset + NAMES_PER_CALL], deadline, where, found)
    finally:
        client.close()
    return found


def _describe_chunk(client, names, deadline, where, found) -> None:
    kwargs = {
        "AlarmNames": names,
        "AlarmTypes": ["MetricAlarm", "CompositeAlarm"],
        "MaxRecords": NAMES_PER_CALL,
    }
    for _page in range(MAX_PAGES):
        response = aws.check_is_aws(client.describe_alarms(**kwargs), where)
        for alarm in _alarms(response, "MetricAlarms", where):
            found[alarm["AlarmName"]] = _metric_alarm(alarm, where)
        for alarm in _alarms(response, "CompositeAlarms", where):
            found[alarm["AlarmName"]] = _composite_alarm(alarm, where)
        if not response.get("NextToken"):
            return
        if deadline.expired():
            raise aws.DeadlinePassed()
        kwargs["NextToken"] = response["NextToken"]
    raise SourceError("bad_response", f"{where.what} kept paging past {MAX_PAGES} pages")


def _alarms(response: object, key: str, where: aws.Target) -> list[dict]:
    alarms = response.get(key, []) if isinstance(response, dict) else None
    if not isinstance(alarms, list) or not all(
        isinstance(a, dict) and isinstance(a.get("AlarmName"), str) for a in alarms
    ):
        raise SourceError("bad_response", f"{where.what} answered with malformed alarms")
    return alarms


def _common(alarm: dict, where: aws.Target) -> dict:
    state = alarm.get("StateValue")
    updated = alarm.get("StateUpdatedTimestamp")
    if state not in ("OK", "ALARM", "INSUFFICIENT_DATA") or not isinstance(updated, datetime):
        raise SourceError("bad_response", f"{where.what} answered with a malformed alarm state")
    return {
        "name": alarm["AlarmName"],
        "state": state,
        "reason": str(alarm.get("StateReason") or ""),
        "updated_at": as_utc(updated),
    }


def _metric_alarm(alarm: dict, where: aws.Target) -> AlarmState:
    threshold = alarm.get("Threshold")
    return AlarmState(
        **_common(alarm, where),
        metric=_metric_name(alarm),
        threshold=float(threshold) if isinstance(threshold, int | float) else None,
        comparison=alarm.get("ComparisonOperator"),
    )


def _metric_name(alarm: dict) -> str | None:
    """Like "AWS/RDS/DatabaseConnections", or the label of the metric math an alarm watches."""
    if alarm.get("MetricName"):
        return f"{alarm.get('Namespace', '')}/{alarm['MetricName']}".lstrip("/")
    for query in alarm.get("Metrics") or []:
        if not query.get("ReturnData", True):
            continue
        if query.get("Expression"):
            return str(query.get("Label") or query["Expression"])
        metric = (query.get("MetricStat") or {}).get("Metric") or {}
        if metric.get("MetricName"):
            return f"{metric.get('Namespace', '')}/{metric['MetricName']}".lstrip("/")
    return None


def _composite_alarm(alarm: dict, where: aws.Target) -> AlarmState:
    """A composite alarm has a rule over other alarms, no metric, threshold or comparison."""
    return AlarmState(**_common(alarm, where), metric=None, threshold=None, comparison=None)


def _missing(name: str, where: aws.Target, polled_at: datetime) -> AlarmState:
    reason = f"No alarm named {json.dumps(name)} exists in {where.what}"
    return AlarmState(name=name, state="MISSING", reason=reason, updated_at=polled_at)
