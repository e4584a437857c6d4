"""Notifications: a launch's changes of state told to the people who asked (webhooks, chat
services through apprise, email), coalesced, in order, retried. See docs/notifications.md.

Belongs here: subscriptions and messages (models), the pure wording of a change (changes.py),
sending (transports.py: I/O only), the services and Celery tasks around them, their pages. May
import checklists.core, checklists.models, checklists.signals and metrics.selectors; nothing of
checklists imports this package (import-linter checks both)."""
