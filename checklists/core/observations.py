"""Observations for the engine: each metric criterion's evidence reduced to one number.

Load tests: the newest complete, valid run of the criterion's test. A relative threshold
(``p(95)<=+10%``) compares with the run pinned as the test's baseline or, without one, with the
last earlier run that met every absolute threshold of its test (the last passing run).
"""

from __future__ import annotations

from checklists.engine import readiness as engine
from checklists.engine.thresholds import parse_threshold
from checklists.models import Criterion
from metrics import selectors as evidence


def wants_of(criteria) -> list[evidence.Want]:
    wants = []
    for c in criteria:
        if c.kind != Criterion.Kind.METRIC or c.all_of:
            continue
        threshold = parse_threshold(c.threshold)
        wants.append(
            evidence.Want(
                key=c.key,
                test=c.test,
                source=c.source,
                metric=c.metric,
                aggregate=threshold.aggregate,
                window_s=threshold.window_s,
                relative=threshold.relative,
                params=c.params,
                threshold=threshold,
            )
        )
    return wants


def observations_of(launch) -> dict[str, engine.Observation]:
    criteria = list(launch.criteria.all())
    titles = {t.key: t.title for t in launch.load_tests.all()}
    wants = wants_of(criteria)
    result = _from_runs(launch, [w for w in wants if w.test], titles, criteria)
    live = {w.key: w for w in wants if w.source}
    found = evidence.source_evidence(launch.pk, list(live.values()))
    result |= {key: _observation(e, live[key]) for key, e in found.items()}
    return result


def _observation(e: evidence.Evidence, want: evidence.Want) -> engine.Observation:
    breaching = recovering = None
    if want.params.get("sustain") or want.params.get("recover"):
        breaching, recovering = sustained(
            e.history,
            want.threshold,
            int(want.params.get("sustain", 1)),
            int(want.params.get("recover", 1)),
        )
    return engine.Observation(
        value=e.value,
        at=e.at,
        complete=e.complete,
        baseline=e.baseline,
        label=e.label,
        display=e.display,
        why=e.why,
        stale_after_s=e.stale_after_s,
        stale_reason=e.stale_reason,
        breaching=breaching,
        recovering=recovering,
    )


def sustained(history, threshold, sustain: int, recover: int):
    """Hysteresis over the polls, oldest first, as Gatus and Argo Rollouts do: a criterion
    fails only after ``sustain`` breaching polls in a row and recovers only after ``recover``
    good ones. Returns (breaching, recovering) for the engine: (polls so far, polls needed)
    when the newest poll breaches but has not failed yet, or holds but has not recovered."""
    failing, bad, good = False, 0, 0
    for value in history:
        if value is None:
            continue
        if threshold.holds(value):
            good, bad = good + 1, 0
            failing = failing and good < recover
        else:
            bad, good = bad + 1, 0
            failing = failing or bad >= sustain
    if not history or history[-1] is None:
        return None, None
    if bad and not failing:
        return (bad, sustain), None
    if good and failing:
        return None, (good, recover)
    return None, None


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".") if text else ""


def _from_runs(launch, wants, titles, criteria) -> dict[str, engine.Observation]:
    if not wants:
        return {}
    runs = evidence.test_runs(launch.pk, {w.test for w in wants})
    # The newest complete run counts; failing that, the newest interrupted one (it cannot pass).
    chosen = {t: next((r for r in rs if r.complete), rs[0]) for t, rs in runs.items()}
    derived = {
        chosen[w.test].pk for w in wants if w.metric in evidence.DERIVED and w.test in chosen
    }
    series = evidence.run_series(derived) if derived else {}
    result = {}
    for w in wants:
        title = titles.get(w.test, w.test)
        run = chosen.get(w.test)
        if run is None:
            why = f"No {title.lower()} test run has been ingested yet."
            result[w.key] = engine.Observation(why=why)
            continue
        value, why = evidence.run_value(run, w.metric, w.aggregate, w.params, series.get(run.pk))
        baseline = _baseline(w, run, runs[w.test], criteria) if w.relative else None
        result[w.key] = engine.Observation(
            value=value,
            at=run.taken_at,
            complete=run.complete,
            baseline=baseline,
            no_baseline=_no_baseline(title, run, runs[w.test]) if baseline is None else "",
            label=f"{title} run #{run.pk}",
            why=_sentence(f"{title} run #{run.pk}: {why}") if value is None else "",
        )
    return result


def _passed(run, criteria, test) -> bool:
    """Whether ``run`` met every absolute threshold of its test (derived checks aside)."""
    for c in criteria:
        if c.test != test or not c.threshold or c.metric in evidence.DERIVED:
            continue
        threshold = parse_threshold(c.threshold)
        if threshold.relative:
            continue
        value, _ = evidence.run_value(run, c.metric, threshold.aggregate, c.params, None)
        if value is None or not threshold.holds(value):
            return False
    return True


def _no_baseline(title: str, run, runs) -> str:
    """Why a relative threshold of ``run`` has no baseline, as it is (for the page)."""
    if run.is_baseline:
        return (
            f"{title} run #{run.pk} is the pinned baseline itself: the next {title.lower()} "
            "run is compared with it"
        )
    if not any(r.complete and r.pk != run.pk and r.taken_at <= run.taken_at for r in runs):
        return f"{title} run #{run.pk} is the first complete one: nothing earlier to compare with"
    return (
        f"No {title.lower()} run before #{run.pk} met the test's thresholds, so none is a "
        "baseline; pin one on its run page"
    )


def _baseline(want, run, runs, criteria) -> float | None:
    pinned = next((r for r in runs if r.is_baseline and r.complete and r.pk != run.pk), None)
    if pinned is not None:
        candidates = [pinned]
    else:
        earlier = [r for r in runs if r.complete and r.pk != run.pk and r.taken_at <= run.taken_at]
        candidates = [r for r in earlier if _passed(r, criteria, want.test)][:1]
    for candidate in candidates:
        value, _ = evidence.run_value(candidate, want.metric, want.aggregate, want.params, None)
        return value
    return None
