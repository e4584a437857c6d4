"""Notifications: a launch's changes of state told to the people who asked (webhooks, chat
services through apprise, email), coalesced, in order, retried. See docs/notifications.md."""
