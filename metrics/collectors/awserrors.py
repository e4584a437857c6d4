"""botocore's failures as SourceError. `what` names the source in messages, e.g.
"CloudWatch in eu-west-1"; messages and details never hold credentials."""

from __future__ import annotations

import logging

from botocore import exceptions as bx

from .types import SourceError

log = logging.getLogger(__name__)

_THROTTLED = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
}
_AUTH = {
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "InvalidSignatureException",
    "AccessDenied",
    "AccessDeniedException",
    "ExpiredToken",
    "ExpiredTokenException",
    "MissingAuthenticationToken",
    "AuthFailure",
}
_CONFIG = {
    "InvalidParameterValue",
    "InvalidParameterCombination",
    "MissingParameter",
    "ValidationError",
    "InvalidFormat",
    "InvalidNextToken",
}


def check_is_aws(response: object, what: str) -> dict:
    """`response` if it looks like an AWS API answer; SourceError("bad_response") otherwise.

    botocore turns a 200 answer it cannot parse (a proxy's HTML page, say) into an empty but
    "successful" response, which would read as "no datapoints" or "every alarm missing". AWS
    (and moto) always send a request id; a proxy page has none and is not JSON/CBOR/XML.
    """
    meta = response.get("ResponseMetadata", {}) if isinstance(response, dict) else {}
    content_type = str(meta.get("HTTPHeaders", {}).get("content-type", ""))
    if meta.get("RequestId") or any(kind in content_type for kind in ("json", "cbor", "xml")):
        return response
    message = f"{what} answered with something that is not an AWS API answer"
    raise SourceError("bad_response", message, detail=f"content-type {content_type!r}")


def late_error(last: object, what: str, timeout_s: float) -> SourceError:
    """Why the last attempt before the deadline failed (a timeout if nothing is known)."""
    if isinstance(last, Exception):
        return transport_error(last, what, timeout_s)
    if isinstance(last, dict):
        return client_error(bx.ClientError(last, "retry"), what)
    return SourceError("timeout", f"{what} did not answer within {timeout_s:g} s")


def client_error(error: bx.ClientError, what: str) -> SourceError:
    """An error answer from AWS (or moto), classified by its code and HTTP status."""
    response = getattr(error, "response", {}) or {}
    code = str(response.get("Error", {}).get("Code", ""))
    meta = response.get("ResponseMetadata", {})
    status = int(meta.get("HTTPStatusCode") or 0)
    detail = f"{code} (HTTP {status}, request id {meta.get('RequestId', '?')})"
    log.warning("%s: %s", what, detail)
    if code in _THROTTLED or status == 429:
        return SourceError("throttled", f"{what} throttled our requests", detail=detail)
    if code in _AUTH or status in (401, 403):
        message = f"{what} refused the AWS credentials"
        return SourceError("auth", message, detail=detail)
    if code.startswith("ResourceNotFound") or status == 404:
        return SourceError("not_found", f"{what} has nothing at that address", detail=detail)
    if code in _CONFIG:
        return SourceError("config", f"{what} rejected the request", detail=detail)
    if status >= 500 or code in ("InternalFailure", "ServiceUnavailable", "InternalServiceError"):
        return SourceError("unreachable", f"{what} is unavailable", detail=detail)
    message = f"{what} answered with an error we do not know"
    return SourceError("bad_response", message, detail=detail)


def transport_error(error: Exception, what: str, timeout_s: float) -> SourceError:
    """A failure below the API: timeouts, refused connections, missing credentials."""
    detail = f"{type(error).__name__}: {error}"
    if isinstance(error, bx.ReadTimeoutError):
        return SourceError(
            "timeout", f"{what} did not answer within {timeout_s:g} s", detail=detail
        )
    if isinstance(error, bx.ConnectTimeoutError):
        message = f"{what} did not accept a connection in time"
        return SourceError("timeout", message, detail=detail)
    if isinstance(error, bx.ConnectionError | bx.HTTPClientError):
        return SourceError("unreachable", f"{what} could not be reached", detail=detail)
    if isinstance(error, bx.NoCredentialsError | bx.PartialCredentialsError | bx.ProfileNotFound):
        message = "AWS credentials could not be found for this source"
        return SourceError("config", message, detail=type(error).__name__)
    if isinstance(error, bx.NoRegionError | bx.ParamValidationError):
        return SourceError("config", f"{what} cannot be asked: {type(error).__name__}")
    message = f"{what} answered with something the collector could not read"
    return SourceError("bad_response", message, detail=detail)
