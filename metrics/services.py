"""Writes to the evidence tables. Callers own the transaction."""

from __future__ import annotations

from .models import Source

SOURCE_FIELDS = ("kind", "title", "config", "interval_seconds", "stale_after_seconds")


def sources_sync(launch, specs: list[dict]) -> list[str]:
    """Make the launch's sources match ``specs`` (plan order); keeps health of kept sources."""
    existing = {s.key: s for s in Source.objects.filter(launch=launch)}
    changes = []
    for order, spec in enumerate(specs):
        values = {name: spec[name] for name in SOURCE_FIELDS} | {"order": order}
        source = existing.pop(spec["key"], None)
        if source is None:
            Source.objects.create(launch=launch, key=spec["key"], **values)
            changes.append(f"source {spec['key']} added")
            continue
        changed = [name for name, value in values.items() if getattr(source, name) != value]
        if changed:
            for name in changed:
                setattr(source, name, values[name])
            source.save(update_fields=changed)
            changes.append(f"source {spec['key']} changed ({', '.join(changed)})")
    for key, source in existing.items():
        source.delete()
        changes.append(f"source {key} removed")
    return changes
