"""The demo's CloudWatch: moto's server (the AWS stand-in this project accepts) embedded in the
process on loopback, fed from the stand-in API the way AWS feeds CloudWatch, so the demo
launch's live sources (RDS, the load balancer, ElastiCache, the three alarms) are judged from
real boto3 reads by the same collectors and Celery polls a real installation uses.

What is fed, every ``every_s`` seconds, for each metric the launch's CloudWatch sources declare:

- ``DatabaseConnections``: the most connections in use on average over one second (the stand-in's
  pool gauge), also when idle (RDS reports continuously);
- ``HTTPCode_Target_5XX_Count`` / ``5XXError``: 5xx answers, and ``TargetResponseTime``: the
  seconds each answer took, as statistic sets weighted by requests; nothing for a tick without
  requests, as a load balancer reports nothing without traffic;
- ``Evictions``: 0 (the stand-in has no cache to evict from).

moto keeps alarms but does not evaluate them, so this module does, as CloudWatch does with
"treat missing data as missing": over the last ``evaluation_periods`` periods, ALARM when every
one of them has data and breaches, INSUFFICIENT_DATA when none has data, else OK. A trickle of
requests (one a second) keeps the load balancer's figures alive between load tests, as real
users would.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import urllib.request
from collections import deque
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime

import boto3

from launchboard.demo.standin import Backend, StandIn
from metrics.collectors import aws

log = logging.getLogger(__name__)

ENDPOINT_ENV = "LAUNCHBOARD_AWS_ENDPOINT_URL"
REGION = "us-east-1"  # when AWS_REGION is not set already
DEMO_KEYS = {"AWS_ACCESS_KEY_ID": "demo", "AWS_SECRET_ACCESS_KEY": "demo"}  # moto takes any
CONNECTIONS = ("DatabaseConnections",)
ERRORS = ("HTTPCode_Target_5XX_Count", "HTTPCode_ELB_5XX_Count", "5XXError")
LATENCY = ("TargetResponseTime",)
ZERO = ("Evictions",)
COMPARE = {
    "GreaterThanThreshold": lambda v, t: v > t,
    "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
    "LessThanThreshold": lambda v, t: v < t,
    "LessThanOrEqualToThreshold": lambda v, t: v <= t,
}


@dataclass(frozen=True)
class Tick:
    """What the stand-in did in one feeding interval."""

    at: float  # epoch seconds, the interval's end
    connections: float
    requests: int
    errors: int
    seconds: float  # time taken by all requests
    slowest: float
    fastest: float


def tick_of(rows: Iterable[tuple[int, float, list[float]]], at: float) -> Tick:
    """One Tick from ``Backend.seconds()`` rows."""
    rows = list(rows)
    return Tick(
        at=at,
        connections=round(max((busy for _, busy, _ in rows), default=0.0), 1),
        requests=int(sum(t[0] for _, _, t in rows)),
        errors=int(sum(t[1] for _, _, t in rows)),
        seconds=sum(t[2] for _, _, t in rows),
        slowest=max((t[3] for _, _, t in rows if t[0]), default=0.0),
        fastest=min((t[4] for _, _, t in rows if t[0]), default=0.0),
    )


def datum(metric: str, tick: Tick) -> dict | None:
    """The value CloudWatch would hold for ``metric`` over ``tick``, or None (nothing to say)."""
    if metric in CONNECTIONS:
        return {"Value": tick.connections, "Unit": "Count"}
    if metric in ZERO:
        return {"Value": 0.0, "Unit": "Count"}
    if not tick.requests:
        return None
    if metric in ERRORS:
        return {"Value": float(tick.errors), "Unit": "Count"}
    if metric in LATENCY:
        stats = {"SampleCount": tick.requests, "Sum": tick.seconds}
        stats |= {"Maximum": tick.slowest, "Minimum": tick.fastest}
        return {"StatisticValues": stats, "Unit": "Seconds"}
    return None


def statistic(name: str, values: list[dict]) -> float | None:
    """A CloudWatch statistic over fed data (each a Value or a StatisticValues set)."""
    sets = [
        d.get("StatisticValues")
        or {"SampleCount": 1, "Sum": d["Value"], "Maximum": d["Value"], "Minimum": d["Value"]}
        for d in values
    ]
    if not sets:
        return None
    count = sum(s["SampleCount"] for s in sets)
    return {
        "Sum": sum(s["Sum"] for s in sets),
        "Average": sum(s["Sum"] for s in sets) / count if count else 0.0,
        "Maximum": max(s["Maximum"] for s in sets),
        "Minimum": min(s["Minimum"] for s in sets),
        "SampleCount": count,
    }.get(name)


@dataclass(frozen=True)
class Alarm:
    """A metric alarm as the plan's alarm criterion describes it (its ``params``)."""

    name: str
    criterion: str  # the key of the criterion it answers
    namespace: str
    metric: str
    statistic: str
    comparison: str
    threshold: float
    period: int
    evaluation_periods: int

    def state(self, history: list[Tick], now: float) -> tuple[str, str]:
        """(state, reason) over the last evaluation_periods periods of ``history``."""
        values = []
        for k in range(self.evaluation_periods, 0, -1):
            start, end = now - k * self.period, now - (k - 1) * self.period
            fed = [d for t in history if start < t.at <= end if (d := datum(self.metric, t))]
            values.append(statistic(self.statistic, fed))
        seen = [v for v in values if v is not None]
        if not seen:
            return "INSUFFICIENT_DATA", "Insufficient Data: no datapoints were received."
        shown = ", ".join(f"{v:g}" for v in seen)
        if len(seen) == len(values) and all(
            COMPARE[self.comparison](v, self.threshold) for v in seen
        ):
            return "ALARM", (
                f"Threshold Crossed: {len(seen)} datapoints [{shown}] crossed the threshold "
                f"({self.threshold:g})."
            )
        return "OK", f"Threshold not crossed: datapoints [{shown}] (threshold {self.threshold:g})."


def alarms_of(launch) -> list[Alarm]:
    """The launch's alarm criteria that describe their alarm (the seed's three do)."""
    found = []
    keys = launch.sources.filter(kind="cloudwatch-alarms").values_list("key", flat=True)
    for c in launch.criteria.filter(source__in=list(keys)):
        p = c.params or {}
        if {"namespace", "metric", "statistic", "threshold", "period"} <= set(p):
            found.append(
                Alarm(
                    name=c.metric,
                    criterion=c.key,
                    namespace=p["namespace"],
                    metric=p["metric"],
                    statistic=p["statistic"],
                    comparison=p.get("comparison", "GreaterThanThreshold"),
                    threshold=float(p["threshold"]),
                    period=int(p["period"]),
                    evaluation_periods=int(p.get("evaluation_periods", 1)),
                )
            )
    return found


def feeds_of(launch) -> list[tuple[str, str, list[dict]]]:
    """(namespace, metric, dimensions) for every metric of the launch's CloudWatch sources."""
    found = []
    for source in launch.sources.filter(kind="cloudwatch"):
        for metric in (source.config or {}).get("metrics", {}).values():
            # sorted by name, as the collector asks: moto 5.2.5 compares dimension lists with a
            # broken sort (Dimension.__lt__), so the same set in another order finds nothing
            # (PostgreSQL's jsonb hands the plan's keys back in its own order)
            dims = [
                {"Name": k, "Value": str(v)}
                for k, v in sorted((metric.get("dimensions") or {}).items())
            ]
            found.append((metric["namespace"], metric["metric"], dims))
    return found


def _moto():
    """moto's server, in this process on a free loopback port (imported only for the demo)."""
    from moto.server import ThreadedMotoServer  # the demo's extra: a production web never has it

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a log line per boto3 call
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


class EmbeddedCloudWatch:
    """moto on loopback, pointed to by this process's environment, fed from ``standin``.

    ``start()`` answers why it did not start (CloudWatch already set up here, moto not
    installed) or "" once running; ``stop()`` ends the feeding, the trickle and moto.
    """

    def __init__(self, launch, standin: StandIn, *, every_s: float = 10.0, trickle: float = 1.0):
        self.backend: Backend = standin.backend
        self.standin_url = standin.url
        self.feeds, self.alarms = feeds_of(launch), alarms_of(launch)
        self.every_s, self.trickle = every_s, trickle
        self.url = ""
        self.history: deque[Tick] = deque()
        self.states: dict[str, str] = {}
        self.fed_until = int(time.time())
        self._stop = threading.Event()
        self._server = None
        self._threads: list[threading.Thread] = []

    def start(self) -> str:
        if os.environ.get(ENDPOINT_ENV):
            return f"{ENDPOINT_ENV} is set: the demo leaves your CloudWatch alone"
        try:
            self._server, self.url = _moto()
        except ImportError:
            return "moto is not installed (pip install -e '.[demo]')"
        os.environ[ENDPOINT_ENV] = self.url
        os.environ.setdefault("AWS_REGION", REGION)
        if aws.credentials_reason(os.environ):
            for name, value in DEMO_KEYS.items():
                os.environ.setdefault(name, value)
        session = boto3.session.Session(region_name=os.environ["AWS_REGION"])
        self.client = session.client("cloudwatch", endpoint_url=self.url)
        for alarm in self.alarms:
            self.client.put_metric_alarm(
                AlarmName=alarm.name,
                Namespace=alarm.namespace,
                MetricName=alarm.metric,
                Statistic=alarm.statistic,
                ComparisonOperator=alarm.comparison,
                Threshold=alarm.threshold,
                Period=alarm.period,
                EvaluationPeriods=alarm.evaluation_periods,
            )
        self.feed()  # alarms start INSUFFICIENT_DATA, as new ones do on AWS
        for target, name in ((self._feeding, "demo-cloudwatch"), (self._trickling, "demo-users")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return ""

    def feed(self, now: float | None = None) -> Tick:
        """Feed the whole seconds since the last feed; evaluate the alarms."""
        now = time.time() if now is None else now
        until = int(now)
        tick = tick_of(self.backend.seconds(self.fed_until, until), now)
        self.fed_until = until
        stamp = datetime.fromtimestamp(now, UTC)
        by_namespace: dict[str, list[dict]] = {}
        for namespace, metric, dims in self.feeds:
            if (d := datum(metric, tick)) is not None:
                entry = {"MetricName": metric, "Dimensions": dims, "Timestamp": stamp, **d}
                by_namespace.setdefault(namespace, []).append(entry)
        for namespace, data in by_namespace.items():
            self.client.put_metric_data(Namespace=namespace, MetricData=data)
        self.history.append(tick)
        longest = max((a.period * a.evaluation_periods for a in self.alarms), default=0)
        while self.history and self.history[0].at < now - longest - self.every_s:
            self.history.popleft()
        self.judge_alarms(now)
        return tick

    def judge_alarms(self, now: float) -> dict[str, str]:
        """Set each alarm's state from what was fed (only when it changes, as AWS does)."""
        for alarm in self.alarms:
            state, reason = alarm.state(list(self.history), now)
            if self.states.get(alarm.name) != state:
                self.client.set_alarm_state(
                    AlarmName=alarm.name, StateValue=state, StateReason=reason[:1023]
                )
                self.states[alarm.name] = state
        return dict(self.states)

    def _feeding(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                self.feed()
            except Exception:  # the demo's CloudWatch falls silent; the board says "stale"
                log.exception("the demo's CloudWatch feed failed")

    def _trickling(self) -> None:
        while self.trickle and not self._stop.wait(1 / self.trickle):
            with suppress(OSError):
                url = f"{self.standin_url}/api/messages"  # the stand-in, on loopback
                urllib.request.urlopen(url, timeout=5).close()  # noqa: S310

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)
        if self._server is not None:
            self._server.stop()
            self._server = None
