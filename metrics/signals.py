"""Signals by which the evidence tells the launch what happened, without importing it.

``evidence_recorded`` is sent inside the transaction of the change; ``checklists`` appends the
Event (so the change and its Event commit together). ``ingest_progress`` is sent while a file is
parsed, outside any transaction; ``live_sample`` after a source's readings are stored.
"""

from django.dispatch import Signal

evidence_recorded = Signal()  # launch_id, kind, subject, summary, actor_name, before, after
ingest_progress = Signal()  # launch_id, run_id, bytes_read, total_bytes, lines
live_sample = Signal()  # launch_id, source_id: a source was polled and its readings stored
