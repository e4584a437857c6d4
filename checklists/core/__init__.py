"""The launch's data at work: every read that spans relations (selectors, observations), every
write (services: validate, change rows, append the Event, in one transaction), the Event log and
its audit chain (events, audit), what a sign-off approves (snapshot), who may see and do what
(access, tokens, quotas), and what the launch does when the evidence changes (receivers).

May import: ``checklists.models``, ``checklists.engine``, ``metrics`` (its selectors for
evidence, its services for writes to it) and Django. Never ``board``, ``realtime`` or ``web``:
a change is announced after commit by a signal (``checklists.signals``) that the layers above
listen to.
"""
