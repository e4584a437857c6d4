"""Small display filters for the status page."""

from django import template

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
def get_item(mapping, key):
    return mapping.get(key)
