"""The OpenAPI 3.1 description of the JSON API, served at /api/openapi.json."""

from __future__ import annotations

from metrics.parsers import FORMATS as PARSER_FORMATS

NUMBER_OR_NULL = {"type": ["number", "null"]}
LATENCY_KEYS = ("p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms", "avg_ms", "min_ms")
STATS = {
    "type": "object",
    "required": [
        "requests",
        "failed",
        "error_rate",
        "rps",
        "p50_ms",
        "p90_ms",
        "p95_ms",
        "p99_ms",
        "max_ms",
    ],
    "properties": {
        "requests": {"type": "integer", "minimum": 0},
        "failed": {"type": "integer", "minimum": 0},
        "error_rate": {"type": "number", "minimum": 0, "maximum": 1},
        "rps": {"type": "number", "minimum": 0},
        **dict.fromkeys(
            ("p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms", "avg_ms", "min_ms"), NUMBER_OR_NULL
        ),
        "timeouts": {"type": "integer", "minimum": 0},
    },
}
STATUS = {"type": "string", "enum": ["pass", "warn", "fail", "pending", "stale", "waived"]}


def _error(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _json(description: str, ref: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}},
    }


SLUG = {
    "name": "slug",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[-a-zA-Z0-9_]+$"},
}
RUN_ID = {
    "name": "run_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": 2**62},
}

VERSION = {
    "name": "version",
    "in": "query",
    "required": False,
    "description": "A past version: its readiness as it was, rebuilt from what was recorded",
    "schema": {"type": "integer", "minimum": 1},
}
AT = {
    "name": "at",
    "in": "query",
    "required": False,
    "description": "A moment (ISO 8601; UTC without a zone): the version current then",
    "schema": {"type": "string", "format": "date-time"},
}

SCHEMAS = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
    "Health": {
        "type": "object",
        "required": ["status", "database"],
        "properties": {"status": {"type": "string"}, "database": {"type": "string"}},
    },
    "Ready": {
        "type": "object",
        "required": ["status", "database", "redis", "worker"],
        "properties": {
            "status": {"type": "string", "enum": ["ready", "not ready"]},
            "database": {"type": "string"},
            "redis": {"type": "string"},
            "worker": {"type": "string"},
            "missing": {"type": "array", "items": {"type": "string"}},
        },
    },
    "LaunchList": {
        "type": "object",
        "required": ["launches"],
        "properties": {
            "launches": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": [
                        "slug",
                        "name",
                        "version",
                        "url",
                        "verdict",
                        "blockers",
                        "blocker_count",
                        "progress_percent",
                        "criteria_ok",
                        "criteria_required",
                        "target_at",
                    ],
                    "properties": {
                        "slug": {"type": "string"},
                        "name": {"type": "string"},
                        "version": {"type": "integer"},
                        "url": {"type": "string"},
                        "verdict": {"type": "string", "enum": ["GO", "NO_GO", "PENDING"]},
                        "headline": {"type": "string"},
                        "blockers": {
                            "type": "array",
                            "items": {"type": "string"},
                            "description": "the first three",
                        },
                        "blocker_count": {"type": "integer"},
                        "progress_percent": {"type": "number"},
                        "remaining_minutes": {"type": "integer"},
                        "criteria_ok": {"type": "integer"},
                        "criteria_required": {"type": "integer"},
                        "target_at": {"type": ["string", "null"], "format": "date-time"},
                    },
                },
            }
        },
    },
    "Readiness": {
        "type": "object",
        "required": [
            "slug",
            "name",
            "verdict",
            "blockers",
            "version",
            "progress",
            "tasks",
            "criteria",
            "risks",
            "overall_risk",
            "signoffs",
        ],
        "properties": {
            "slug": {"type": "string"},
            "name": {"type": "string"},
            "verdict": {"type": "string", "enum": ["GO", "NO_GO", "PENDING"]},
            "blockers": {"type": "array", "items": {"type": "string"}},
            "version": {"type": "integer", "minimum": 0},
            "progress": {
                "type": "object",
                "required": ["total_minutes", "done_minutes", "remaining_minutes", "percent"],
                "properties": {
                    k: {"type": "number"}
                    for k in (
                        "total_minutes",
                        "done_minutes",
                        "remaining_minutes",
                        "percent",
                        "critical_path_minutes",
                    )
                },
            },
            "tasks": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["key", "title", "priority", "minutes", "status", "optional"],
                    "properties": {
                        "key": {"type": "string"},
                        "title": {"type": "string"},
                        "priority": {"type": "string", "enum": ["critical", "high", "optional"]},
                        "minutes": {"type": "integer"},
                        "status": {
                            "type": "string",
                            "enum": ["pending", "in_progress", "done", "blocked"],
                        },
                        "optional": {"type": "boolean"},
                    },
                },
            },
            "criteria": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": [
                        "key",
                        "title",
                        "kind",
                        "required",
                        "status",
                        "observed",
                        "threshold",
                        "source",
                        "why",
                    ],
                    "properties": {
                        "key": {"type": "string"},
                        "title": {"type": "string"},
                        "kind": {"type": "string", "enum": ["manual", "metric"]},
                        "required": {"type": "boolean"},
                        "status": STATUS,
                        "observed": NUMBER_OR_NULL,
                        "threshold": {"type": ["string", "null"]},
                        "source": {"type": ["string", "null"]},
                        "why": {"type": "string"},
                    },
                },
            },
            "risks": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["key", "title", "before", "after", "current", "mitigation"],
                },
            },
            "overall_risk": {
                "type": "object",
                "required": ["before", "current"],
                "properties": {
                    "before": {"type": "string"},
                    "target": {"type": "string", "description": "once every mitigation holds"},
                    "current": {"type": "string"},
                },
            },
            "signoffs": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["role", "status", "by", "at"],
                    "properties": {
                        "role": {"type": "string"},
                        "status": {
                            "type": "string",
                            "enum": ["pending", "approved", "rejected", "stale"],
                        },
                        "by": {"type": ["string", "null"]},
                        "at": {"type": ["string", "null"]},
                    },
                },
            },
            "window": {
                "type": ["object", "null"],
                "description": "The launch window (null: the plan has none)",
                "properties": {
                    "start": {"type": "string", "format": "date-time"},
                    "end": {"type": "string", "format": "date-time"},
                    "timezone": {"type": "string"},
                },
            },
            "forecast": {
                "type": "object",
                "description": "The remaining critical path at the pace of the tasks timed so far",
                "properties": {
                    "pace": {"type": "number", "description": "actual minutes per estimated"},
                    "timed_tasks": {"type": "integer"},
                    "critical_path_minutes": {"type": "integer"},
                    "expected_minutes": {"type": "integer"},
                    "finish_at": {"type": "string", "format": "date-time"},
                    "window": {
                        "type": ["string", "null"],
                        "enum": ["before", "inside", "after", None],
                    },
                    "meets_window": {"type": ["boolean", "null"]},
                },
            },
            "watch": {
                "type": ["object", "null"],
                "description": "The watch after GO (null: the plan has no rollout)",
                "properties": {
                    "phase": {
                        "type": "string",
                        "enum": ["preparing", "live", "rollback", "rolled_back", "complete"],
                    },
                    "headline": {"type": "string"},
                    "reason": {"type": ["string", "null"]},
                    "live_at": {"type": ["string", "null"]},
                    "ends_at": {"type": ["string", "null"]},
                    "stages": {"type": "array", "items": {"type": "object"}},
                    "triggers": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "status": {"type": "string", "enum": ["ok", "fired", "blind"]}
                            },
                        },
                    },
                },
            },
        },
    },
    "Run": {
        "type": "object",
        "required": [
            "id",
            "tool",
            "format",
            "test",
            "complete",
            "duplicate",
            "overall",
            "scenarios",
            "endpoints",
            "status",
        ],
        "properties": {
            "id": {"type": "integer"},
            "tool": {"type": ["string", "null"], "enum": ["k6", "locust", "jmeter", None]},
            "format": {"type": ["string", "null"], "enum": [*PARSER_FORMATS, None]},
            "encoding": {
                "type": ["string", "null"],
                "description": "the encoding guessed for a file whose text was not UTF-8",
            },
            "test": {"type": ["string", "null"]},
            "status": {"type": "string", "enum": ["processing", "done", "failed"]},
            "error": {"type": ["string", "null"]},
            "complete": {"type": "boolean"},
            "duplicate": {"type": "boolean"},
            "overall": {"oneOf": [STATS, {"type": "null"}]},
            "scenarios": {"type": "object", "additionalProperties": STATS},
            "endpoints": {"type": "object", "additionalProperties": STATS},
        },
    },
}


def openapi_document() -> dict:
    bearer = [{"bearer": []}]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Launchboard API",
            "version": "1",
            "description": "Launch readiness: verdict, blockers and evidence; CI uploads "
            "load-test results with a per-launch bearer token.",
        },
        "paths": {
            "/healthz": {
                "get": {
                    "summary": "Liveness and database check",
                    "security": [],
                    "responses": {"200": _json("Healthy", "Health"), "503": _error("Unhealthy")},
                }
            },
            "/readyz": {
                "get": {
                    "summary": "Readiness to serve: database, Redis if configured, a worker "
                    "heartbeat younger than a minute",
                    "security": [],
                    "responses": {
                        "200": _json("Ready", "Ready"),
                        "503": _json("Not ready: missing names what", "Ready"),
                    },
                }
            },
            "/api/launches/": {
                "get": {
                    "summary": "The launches you may read",
                    "security": [],
                    "responses": {"200": _json("Launches", "LaunchList")},
                }
            },
            "/api/launches/{slug}/": {
                "get": {
                    "summary": "Readiness of a launch: verdict, blockers and what is behind them",
                    "parameters": [SLUG, VERSION, AT],
                    "security": [{}, *bearer],
                    "responses": {
                        "200": _json("Readiness", "Readiness"),
                        "304": {"description": "Not modified (If-None-Match)"},
                        "400": _error("A version or time that cannot be read"),
                        "401": _error("Bad token"),
                        "403": _error("Token without read scope"),
                        "404": _error("No such launch, or no such version (yet, or recorded)"),
                    },
                }
            },
            "/api/launches/{slug}/report.md": {
                "get": {
                    "summary": "The readiness report (and decision record) as Markdown",
                    "parameters": [SLUG, VERSION, AT],
                    "security": [{}, *bearer],
                    "responses": {
                        "200": {
                            "description": "The report",
                            "content": {"text/markdown": {"schema": {"type": "string"}}},
                        },
                        "400": _error("A version or time that cannot be read"),
                        "401": _error("Bad token"),
                        "403": _error("Token without read scope"),
                        "404": _error("No such launch or version"),
                    },
                }
            },
            "/api/launches/{slug}/report.pdf": {
                "get": {
                    "summary": "The readiness report (and decision record) as PDF",
                    "parameters": [SLUG, VERSION, AT],
                    "security": [{}, *bearer],
                    "responses": {
                        "200": {
                            "description": "The report",
                            "content": {
                                "application/pdf": {
                                    "schema": {"type": "string", "format": "binary"}
                                }
                            },
                        },
                        "400": _error("A version or time that cannot be read"),
                        "401": _error("Bad token"),
                        "403": _error("Token without read scope"),
                        "404": _error("No such launch or version"),
                        "503": _error("No PDF renderer on this server"),
                    },
                }
            },
            "/api/launches/{slug}/diff/": {
                "get": {
                    "summary": "What changed between two versions",
                    "parameters": [
                        SLUG,
                        {
                            "name": "from",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "integer", "minimum": 1},
                        },
                        {
                            "name": "to",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "integer", "minimum": 1},
                        },
                    ],
                    "security": [{}, *bearer],
                    "responses": {
                        "200": {
                            "description": "The changes, each with a sentence",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        "400": _error("Versions that cannot be compared"),
                        "401": _error("Bad token"),
                        "403": _error("Token without read scope"),
                        "404": _error("No such launch, or a version not recorded"),
                    },
                }
            },
            "/api/launches/{slug}/runs/": {
                "post": {
                    "summary": "Upload a k6 or Locust result file; parsed in the background",
                    "parameters": [SLUG],
                    "security": bearer,
                    "requestBody": {
                        "required": True,
                        "content": {
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "required": ["file"],
                                    "properties": {
                                        "file": {"type": "string", "format": "binary"},
                                        "test": {"type": "string"},
                                        "format": {
                                            "type": "string",
                                            "enum": ["auto", *PARSER_FORMATS],
                                        },
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "202": _json("Accepted (or already ingested: duplicate true)", "Run"),
                        "400": _error("Bad request"),
                        "401": _error("Missing or bad token"),
                        "403": _error("Token without upload scope"),
                        "404": _error("No such launch"),
                        "413": _error("File over the size limit"),
                        "415": _error("Not a k6 or Locust result"),
                        "429": _error(
                            "The token's uploads per minute or bytes per day are used up "
                            "(Retry-After says when to retry)"
                        ),
                    },
                }
            },
            "/api/runs/{run_id}/": {
                "get": {
                    "summary": "A run: its processing state and figures",
                    "parameters": [RUN_ID],
                    "security": [{}, *bearer],
                    "responses": {
                        "200": _json("The run", "Run"),
                        "401": _error("Bad token"),
                        "403": _error("Token without read scope"),
                        "404": _error("No such run"),
                    },
                }
            },
        },
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
