"""I/O only: one message to one receiver. Webhooks are signed JSON posted by hand (apprise cannot
sign); Slack-compatible webhooks and every other chat service go through apprise; email through
Django's backend. Each raises DeliveryError with a text safe to show (no secret URL in it)."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import time
from urllib.parse import parse_qsl, quote, urlsplit

import apprise
import urllib3
from django.conf import settings
from django.core.mail import EmailMessage

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Launchboard-Signature"
TIMESTAMP_HEADER = "X-Launchboard-Timestamp"
SLACK_HOSTS = ("hooks.slack.com", "hooks.slack-gov.com")
_http = urllib3.PoolManager(retries=False)


class DeliveryError(Exception):
    pass


class BadTarget(ValueError):
    pass


def shown_target(kind: str, target: str) -> str:
    """What a page may show of a target: an address, or a URL's scheme and host only (the path
    and query of a webhook URL carry its secret)."""
    if kind == "email":
        return target
    parts = urlsplit(target)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname or '?'}{port}/…"


def _private(host: str) -> bool:
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError as exc:
        raise BadTarget(f"The host {host} cannot be resolved.") from exc
    addresses = {ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos}
    return any(not a.is_global for a in addresses)


def check_host(host: str | None) -> None:
    """Refuse private, loopback and link-local targets unless the setting allows them (an
    outgoing request must not become a way into the internal network)."""
    if not host:
        raise BadTarget("The URL names no host.")
    if not settings.NOTIFY_ALLOW_PRIVATE_TARGETS and _private(host):
        raise BadTarget(f"The host {host} is a private or local address; it is not allowed here.")


def check_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise BadTarget("Give an http:// or https:// URL.")
    check_host(parts.hostname)
    return url


def check_apprise(url: str) -> str:
    url = url.strip()
    plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        raise BadTarget("apprise does not understand this URL (see its list of services).")
    check_host(getattr(plugin, "host", None) or "localhost")
    return url


# --- webhook ------------------------------------------------------------------------------------
def signature(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over "<timestamp>.<body>", hex: a receiver recomputes it with the secret it
    was shown, and refuses old timestamps (a replayed message)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _post(url: str, body: bytes, headers: dict) -> None:
    check_url(url)  # again at send time: the name may resolve elsewhere since it was added
    timeout = urllib3.Timeout(connect=3, read=settings.NOTIFY_TIMEOUT_SECONDS)
    try:
        answer = _http.request(
            "POST", url, body=body, headers=headers, timeout=timeout, redirect=False
        )
    except urllib3.exceptions.HTTPError as exc:
        raise DeliveryError(f"no answer: {type(exc).__name__}") from None
    if not 200 <= answer.status < 300:  # a redirect is not followed: it is an error
        raise DeliveryError(f"HTTP {answer.status}: {answer.data[:200].decode(errors='replace')}")


def send_webhook(url: str, secret: str, payload: dict) -> None:
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Launchboard",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }
    _post(url, body, headers)


# --- chat services through apprise ---------------------------------------------------------------
def slack_apprise_url(url: str) -> str:
    """A Slack-compatible incoming webhook as an apprise URL. Slack's own URL apprise reads as
    it is (it sends Slack's blocks itself); any other host (Mattermost, Rocket.Chat, Zulip's or
    Discord's Slack endpoint) gets apprise's JSON service with its payload remapped to Slack's
    {"text": ...}: apprise's Slack service only posts to Slack's hosts."""
    parts = urlsplit(url)
    if parts.hostname in SLACK_HOSTS:
        return url
    scheme = "jsons" if parts.scheme == "https" else "json"
    netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
    keep = "".join(f"&-{quote(k)}={quote(v)}" for k, v in parse_qsl(parts.query))
    remap = ":message=text&:title=&:version=&:attachments=&:type="
    return f"{scheme}://{netloc}{parts.path or '/'}?{remap}{keep}"


def send_apprise(url: str, title: str, body: str) -> None:
    timeout = settings.NOTIFY_TIMEOUT_SECONDS
    joiner = "&" if "?" in url else "?"
    notifier = apprise.Apprise()
    # its timeouts, and no redirect followed (apprise follows them unless told)
    if not notifier.add(f"{url}{joiner}cto=3&rto={timeout}&redirect=no"):
        raise DeliveryError("apprise does not understand this URL")
    with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:
        sent = notifier.notify(title=title, body=body)
    if not sent:
        said = captured.getvalue().strip().splitlines()
        raise DeliveryError((said[-1] if said else "apprise could not send it").replace(url, "…"))


# --- email --------------------------------------------------------------------------------------
def send_email(address: str, subject: str, body: str, unsubscribe_url: str) -> None:
    text = f"{body}\n\nStop these messages: {unsubscribe_url}\n"
    message = EmailMessage(
        subject=subject[:200],
        body=text,
        to=[address],
        headers={"List-Unsubscribe": f"<{unsubscribe_url}>"},
    )
    try:
        message.send()
    except Exception as exc:  # SMTP refused, unreachable: the same retry as a webhook
        raise DeliveryError(f"email not sent: {type(exc).__name__}: {exc}"[:300]) from None
