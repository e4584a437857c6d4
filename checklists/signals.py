"""What the launch's core announces, so the layers above it can act without the core importing
them (as metrics/signals.py does for the evidence). Receivers are connected in
``ChecklistsConfig.ready``."""

from django.dispatch import Signal

# A recorded change was committed: launch_id, version, kind. Sent once per change, after commit,
# in the process that made it. The real-time layer renders the launch once, tells its open pages
# and answers with the readiness state it rendered (a dict), which the core remembers.
launch_changed = Signal()

# After a change, approvals may have gone stale: launch_id, statuses (each sign-off role's status
# as just rendered, or None when nothing was rendered and everything must be looked at).
approvals_to_check = Signal()

# After a change, the launch's readiness state is known: launch_id, version, kind, before, after
# (each a readiness_state dict; before is None when nothing was stored yet). Sent after commit,
# once per change whose state differs from the one stored before it. Notifications listen.
readiness_settled = Signal()
