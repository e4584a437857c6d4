"""Pure functions of the launch: the plan file <-> ``PlanSpec`` (plan), k6-style thresholds
(thresholds) and the readiness engine ``evaluate(plan, observations, now)`` (readiness).

May import: the standard library, PyYAML and ``metrics.collectors``' pure validation (plan checks
that a live criterion's source can answer it). Never Django, the database, the network, or
anything else of ours: the engine is what the rest is tested against.
"""
