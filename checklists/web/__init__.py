"""HTTP: the pages (views, trust), the forms behind them (actions), the JSON API and its OpenAPI
description (api, openapi), streamed uploads (upload_stream), the fast path answering anonymous
reads before Django (fastreads) and the security log of sign-ins (security_log).

May import every layer below (realtime, board, core, engine), ``metrics`` and ``launchboard``.
Nothing imports it but URLs, ASGI and settings.
"""
