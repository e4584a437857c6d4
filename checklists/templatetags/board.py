"""Small display filters for the status page."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from django import template
from django.utils.html import format_html

from checklists.engine.readiness import format_value

register = template.Library()

LEVEL_ICONS = {"high": "🔴", "medium": "🟡", "low": "🟢"}
STATUS_WORDS = {
    "pass": "Pass",
    "warn": "Warn",
    "fail": "Fail",
    "pending": "Pending",
    "stale": "Stale",
    "waived": "Waived",
    "approved": "Approved",
    "rejected": "Rejected",
    "done": "Done",
    "in_progress": "In progress",
    "blocked": "Blocked",
}


@register.filter
def minutes(value) -> str:
    """210 -> '3 h 30 min'."""
    value = int(value or 0)
    hours, mins = divmod(value, 60)
    if hours and mins:
        return f"{hours} h {mins} min"
    return f"{hours} h" if hours else f"{mins} min"


@register.filter
def level_icon(level) -> str:
    return LEVEL_ICONS.get(level, "⚪")


@register.filter
def status_word(status) -> str:
    return STATUS_WORDS.get(status, str(status).replace("_", " ").capitalize())


@register.filter
def verdict_word(verdict) -> str:
    return {"GO": "GO", "NO_GO": "NO GO", "PENDING": "PENDING"}.get(verdict, verdict)


@register.filter
def iso_utc(value) -> str:
    """'2025-01-19T09:00:00+00:00' (or a datetime) -> '2025-01-19 09:00 UTC'."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


@register.filter
def get_item(mapping, key):
    return mapping.get(key)


@register.filter
def done_early(task, plan_tasks) -> str:
    """The titles of the tasks ``task`` follows that are not done, when it is done already
    (someone marked it done out of order, with a reason); "" otherwise."""
    if task.status != "done" or not task.depends_on:
        return ""
    by_key = {t.key: t for t in plan_tasks}
    return ", ".join(
        by_key[k].title for k in task.depends_on if k in by_key and by_key[k].status != "done"
    )


def _fmt(value, unit):
    return format_value(value, unit)


@register.filter
def pct(value) -> str:
    return _fmt(value, "%")


@register.filter
def ms(value) -> str:
    return _fmt(value, "ms")


@register.filter
def num(value) -> str:
    if value is None:
        return "—"
    return (
        f"{value:,.1f}" if isinstance(value, float) and not value.is_integer() else f"{value:,.0f}"
    )


@register.filter
def figure(value, unit) -> str:
    """A comparison figure in its unit: '%' rates, 'ms' times, anything else a number."""
    if unit == "%":
        return pct(value)
    if unit == "ms":
        return ms(value)
    return num(value)


@register.filter
def change(row) -> str:
    """'+12 ms (+3%)' for a compare_runs row; lower is better except for requests/s."""
    if row["delta"] is None:
        return "—"
    if row["unit"] == "%":
        text = f"{row['delta'] * 100:+.2f} pp"
    elif row["unit"] == "ms":
        text = f"{row['delta']:+,.0f} ms"
    else:
        text = f"{row['delta']:+,.1f}"
    if row["relative"] is not None:
        text += f" ({row['relative'] * 100:+.0f}%)"
    return text


@register.filter
def better(row) -> str:
    """'better', 'worse' or '' for colouring a compare_runs row."""
    if not row["delta"]:
        return ""
    higher_is_better = row["key"] in ("rps", "requests")
    return "better" if (row["delta"] > 0) == higher_is_better else "worse"


@register.simple_tag(takes_context=True)
def csrf_field(context):
    """The CSRF input of a form in a live section. Sections pushed to every viewer are rendered
    once, without a viewer, so the value is empty there and board.js fills it from the cookie."""
    token = context.get("csrf_token") or ""
    return format_html(
        '<input type="hidden" name="csrfmiddlewaretoken" value="{}" class="csrf">', token
    )


@register.filter
def md_cell(value) -> str:
    """Text safe in a Markdown table cell: no pipe or line break ends the cell early."""
    return " ".join(str(value if value is not None else "").split()).replace("|", "\\|")


VOTE_WORDS = {"go": "Go", "no_go": "No go", "abstain": "Abstain", "none": "Did not vote"}


@register.filter
def vote_word(vote) -> str:
    return VOTE_WORDS.get(vote, str(vote))


@register.filter
def local_time(value, zone) -> str:
    """A moment on the clock of ``zone`` (the launch window's time zone)."""
    if not value:
        return ""
    return value.astimezone(ZoneInfo(zone or "UTC")).strftime("%Y-%m-%d %H:%M")


@register.filter
def seconds_words(value) -> str:
    seconds = int(value or 0)
    return minutes(seconds // 60) if seconds >= 60 else f"{seconds} s"


@register.filter
def next_stage_traffic(stages, index) -> str:
    """The traffic share of the stage after ``index`` (for "Ramp up to 50%")."""
    following = stages[index + 1].spec.traffic if index + 1 < len(stages) else 100
    return f"{following:g}"


@register.filter
def rollback_minutes(steps) -> int:
    return sum(step.get("estimate_minutes", 0) for step in steps)
