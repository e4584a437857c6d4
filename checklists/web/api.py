"""The JSON API. Plain function views; errors are ``{"error": ...}`` with a 4xx status."""

from __future__ import annotations

import orjson
from django.core.exceptions import BadRequest, RequestDataTooBig
from django.db import connection
from django.http import HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from checklists.board import past, sections
from checklists.board import report as report_doc
from checklists.core import history
from checklists.core.access import TokenRefused, bearer_token, can_read, check_token
from checklists.core.quotas import upload_admit, upload_charge
from checklists.models import ApiToken, Launch
from checklists.web.openapi import openapi_document
from checklists.web.versions import BadQuestion, asked_version
from checklists.web.views import launch_summaries
from metrics.parsers import FORMATS as PARSER_FORMATS
from metrics.selectors import run_by_id, run_json
from metrics.services import IngestError, run_accept_upload, sniff_format
from metrics.uploads import HashingUploadHandler, discard


def json_response(data, status: int = 200) -> HttpResponse:
    return HttpResponse(
        orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS),
        status=status,
        content_type="application/json",
    )


def error(message: str, status: int) -> HttpResponse:
    return json_response({"error": message}, status=status)


@require_GET
def healthz(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return json_response({"status": "error", "database": "unreachable"}, status=503)
    return json_response({"status": "ok", "database": "ok"})


@require_GET
def launches(request):
    """Every launch the caller may read, each in a line (verdict, progress, target)."""
    return json_response({"launches": launch_summaries(request)})


@require_GET
def launch_readiness(request, slug):
    """The readiness JSON, rendered once per change (sections.py): a poller that sends back the
    ETag gets 304 until something changes."""
    if refused := _token_in_url(request):
        return refused
    launch = Launch.objects.filter(slug=slug).only("id", "slug", "version", "visibility").first()
    if bearer_token(request):  # the token first: a bad one is 401 whether the launch exists
        _, refused = _authorize(request, launch, ApiToken.Scope.READ)
        if refused:
            return refused
    elif launch is None or not can_read(request, launch):
        return error(f"no launch {slug!r}", 404)
    try:
        version = asked_version(request.GET, launch)
    except BadQuestion as exc:
        return error(str(exc), exc.status)
    private = launch.visibility != Launch.Visibility.PUBLIC
    if version is not None and version != launch.version:
        try:
            body, etag = sections.past_json(launch, version)
        except history.NotRecorded:
            return error(
                f"version {version} was not recorded: it is older than time travel here", 404
            )
        return rendered_json(request, body, etag, private=private)
    shown = sections.current(launch.pk, version=launch.version)
    return rendered_json(request, shown.api, shown.etag, private=not shown.public)


def _readable_launch_json(request, slug):
    """(launch, None) when the caller may read it (a token or the session), else (None, 4xx)."""
    if refused := _token_in_url(request):
        return None, refused
    launch = Launch.objects.filter(slug=slug).first()
    if bearer_token(request):
        _, refused = _authorize(request, launch, ApiToken.Scope.READ)
        if refused:
            return None, refused
    elif launch is None or not can_read(request, launch):
        return None, error(f"no launch {slug!r}", 404)
    return launch, None


@require_GET
def report(request, slug, fmt):
    """The readiness report (with the decision recorded on it) as Markdown or PDF;
    ``?version=N`` or ``?at=<time>`` for a past one."""
    launch, refused = _readable_launch_json(request, slug)
    if refused:
        return refused
    if fmt not in ("md", "pdf"):
        return error("ask for report.md or report.pdf", 404)
    try:
        version = asked_version(request.GET, launch) or launch.version
        if fmt == "md":
            body, kind = report_doc.as_markdown(launch, version).encode(), "text/markdown"
        else:
            body, kind = report_doc.as_pdf(launch, version), "application/pdf"
    except BadQuestion as exc:
        return error(str(exc), exc.status)
    except history.NotRecorded:
        return error(f"version {version} was not recorded: it is older than time travel here", 404)
    except OSError as exc:  # WeasyPrint without Pango: say what to install
        return error(f"PDF needs Pango on the server (apt-get install libpango-1.0-0): {exc}", 503)
    response = HttpResponse(body, content_type=f"{kind}; charset=utf-8" if fmt == "md" else kind)
    name = f"{launch.slug}-readiness-v{version}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
def diff(request, slug):
    """What changed between two versions: ``?from=A&to=B`` (to: the current one)."""
    launch, refused = _readable_launch_json(request, slug)
    if refused:
        return refused
    older, newer = request.GET.get("from", ""), request.GET.get("to", str(launch.version))
    if not (older.isdigit() and newer.isdigit()):
        return error("from and to must be whole numbers (versions)", 400)
    older, newer = int(older), int(newer)
    if not 1 <= older <= newer <= launch.version:
        return error(f"ask for 1 <= from <= to <= {launch.version}", 400)
    try:
        found = past.changes(launch, older, newer)
    except history.NotRecorded:
        return error("one of these versions was not recorded: it is older than time travel", 404)
    return json_response({"slug": launch.slug, "from": older, "to": newer, "changes": found})


def rendered_json(request, body: bytes, etag: str, private: bool = False) -> HttpResponse:
    """The rendered JSON, or 304 for its ETag. A private launch's, or one asked for with a
    token or a session, is ``private, no-store``: no cache keeps it (a poller still sends the
    ETag it kept itself)."""
    if etag_matches(request.headers.get("If-None-Match", ""), etag):
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(body, content_type="application/json")
    response["ETag"] = etag
    personal = private or bearer_token(request) or request.user.is_authenticated
    response["Cache-Control"] = "private, no-store" if personal else "no-cache"
    return response


def etag_matches(header: str, etag: str) -> bool:
    """If-None-Match: ``*`` or a list of tags, weak ones compared weakly (RFC 9110 13.1.2)."""
    if not header or not etag:
        return False
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or etag in tags


# --- runs --------------------------------------------------------------------------------------


TOKEN_PARAMS = ("token", "access_token", "api_key", "apikey", "key")
FORMATS = ("auto", *PARSER_FORMATS)


def _token_in_url(request) -> HttpResponse | None:
    if any(name in request.GET for name in TOKEN_PARAMS):
        return error("tokens are not accepted in the URL; send Authorization: Bearer <token>", 400)
    return None


def _authorize(request, launch, scope, noun="launch"):
    """(token, None) or (None, error response) for a bearer-token request. ``launch`` may be
    None (no such launch): the answer is then the one another launch's token gets."""
    plain = bearer_token(request)
    if plain is None:
        response = error("send the launch's API token as Authorization: Bearer <token>", 401)
        response["WWW-Authenticate"] = 'Bearer realm="launchboard"'
        return None, response
    try:
        token = check_token(plain, launch, scope, noun)
    except TokenRefused as refused:
        return None, error(refused.message, refused.status)
    return token, None


def discard_quietly(request) -> None:
    try:
        discard(request)
    except Exception:  # the parse failed half-way: nothing usable was stored anyway
        return


def accept_upload(request, launch, *, via: str, actor_name: str) -> HttpResponse:
    """The one upload path (API and form): stream to disk, check, register, queue parsing."""
    handler = next(
        (h for h in request.upload_handlers if isinstance(h, HashingUploadHandler)), None
    )
    if handler is None:
        handler = HashingUploadHandler(request)
        request.upload_handlers = [handler]
    try:
        upload = request.FILES.get("file")
    except (MultiPartParserError, BadRequest, RequestDataTooBig) as exc:
        discard_quietly(request)
        return error(f"the upload could not be read: {exc}", 400)
    if handler.too_large:
        discard(request)
        return error(f"the file is larger than the limit of {handler.limit:,} bytes", 413)
    if upload is None:
        return error("send the result file as the multipart field 'file'", 400)
    problem = _check_upload(launch, upload, request.POST)
    if problem:
        discard(request)
        return problem
    fmt = request.POST.get("format") or "auto"
    ingested = run_accept_upload(
        launch,
        upload.path,
        sha256=upload.sha256,
        size=upload.size,
        test=request.POST.get("test", ""),
        fmt="" if fmt == "auto" else fmt,
        filename=upload.name,
        via=via,
        actor_name=actor_name,
    )
    data = run_json(ingested.run, ingested.duplicate) | {"url": f"/api/runs/{ingested.run.pk}/"}
    return json_response(data, status=202)


def _check_upload(launch, upload, form) -> HttpResponse | None:
    test, fmt = form.get("test", ""), form.get("format") or "auto"
    tests = list(launch.load_tests.values_list("key", flat=True))
    if test and test not in tests:
        return error(f"no load test {test!r} in this launch (its tests: {', '.join(tests)})", 400)
    if fmt not in FORMATS:
        return error(f"format must be one of {', '.join(FORMATS)}", 400)
    if upload.size == 0:
        return error("the file is empty", 400)
    try:
        detected = sniff_format(upload.path)
    except IngestError as exc:
        return error(f"{upload.name or 'the file'}: {exc}", 415)
    if fmt != "auto" and detected != fmt:
        return error(f"the file is {detected}, not {fmt}", 400)
    return None


@csrf_exempt  # token-authenticated: browsers cannot attach the header cross-site
@require_POST
def runs_upload(request, slug):
    if refused := _token_in_url(request):
        return refused
    launch = Launch.objects.filter(slug=slug).first()
    token, refused = _authorize(request, launch, ApiToken.Scope.UPLOAD)
    if refused:
        return refused
    if wait := upload_admit(token):
        response = error(wait.message, 429)
        response["Retry-After"] = str(wait.retry_after)
        return response
    handler = HashingUploadHandler(request)
    request.upload_handlers = [handler]
    response = None
    try:
        response = accept_upload(request, launch, via="api", actor_name=f"token {token.name}")
        return response
    finally:
        if response is None or response.status_code >= 400:
            handler.forget()  # a refused file is never left behind
        upload_charge(token, handler.received)  # every byte sent, kept or not


@require_GET
def run_detail(request, run_id: int):
    if refused := _token_in_url(request):
        return refused
    run = run_by_id(run_id)
    if bearer_token(request):
        _, refused = _authorize(request, run.launch if run else None, ApiToken.Scope.READ, "run")
        if refused:
            return refused
    elif run is None or not can_read(request, run.launch):
        return error("no such run", 404)
    return json_response(run_json(run))


@require_GET
def openapi(request):
    return json_response(openapi_document())
