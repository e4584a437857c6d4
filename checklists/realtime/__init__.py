"""Open pages: the hub of each server process (hub), the WebSocket consumer of a launch's page
(consumers) and the one way to tell pages of a change (broadcast), which listens to the core's
``launch_changed`` signal.

May import: ``board``, ``core``, ``engine``, ``checklists.models``, Channels. Never ``web``.
"""
