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
from apprise.plugins.email import NotifyEmail
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
    """What a page may show of a target: an address, a URL's scheme and host only (the path
    and query of a webhook URL carry its secret), or a chat service's name only (in an apprise
    URL the "host" is often the token itself: tgram://<bot token>/..., discord://<id>/<token>)."""
    if kind == "email":
        return target
    parts = urlsplit(target)
    if kind == "apprise":
        return f"{parts.scheme or '?'}://…"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # not a number: shown without it rather than a page that fails
        port = ""
    return f"{parts.scheme}://{parts.hostname or '?'}{port}/…"


# Never a webhook, whatever NOTIFY_ALLOW_PRIVATE_TARGETS says: link-local holds the cloud
# metadata endpoints (169.254.169.254: the instance's credentials); 0.0.0.0/8 reaches the local
# host on Linux; multicast, broadcast and reserved ranges are no receiver.
_NEVER = tuple(
    ipaddress.ip_network(n)
    for n in (
        *("0.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "240.0.0.0/4"),
        *("::/128", "fe80::/10", "fec0::/10", "ff00::/8"),
    )
)


def _addresses(host: str) -> set:
    try:
        infos = socket.getaddrinfo(host, None)
    except (OSError, UnicodeError) as exc:
        raise BadTarget(f"The host {host} cannot be resolved.") from exc
    found = set()
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        # ::ffff:169.254.169.254 is 169.254.169.254
        found.add(getattr(address, "ipv4_mapped", None) or address)
    return found


def check_host(host: str | None) -> None:
    """Refuse link-local, unspecified, multicast and reserved targets always, and private and
    loopback ones unless the setting allows them (an outgoing request must not become a way into
    the internal network)."""
    if not host:
        raise BadTarget("The URL names no host.")
    addresses = _addresses(host)
    if any(any(a in n for n in _NEVER if n.version == a.version) for a in addresses):
        raise BadTarget(f"The host {host} is a link-local or special address; never allowed.")
    if not settings.NOTIFY_ALLOW_PRIVATE_TARGETS and any(not a.is_global for a in addresses):
        raise BadTarget(f"The host {host} is a private or local address; it is not allowed here.")


def check_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise BadTarget("Give an http:// or https:// URL.")
    check_host(parts.hostname)
    return url


# Services that let the user choose http or https post to a server the user names: its host is
# checked. The others post to their vendor's public host, and their "host" is part of a token
# (discord://<webhook id>/<token>, pover://<user>@<app token>, tgram://<bot token>/<chat>):
# resolving it refused real ids. Exceptions either way are below, in _apprise_host.
_VENDOR_ONLY = frozenset({"pushme", "sfr"})  # no https variant, yet a vendor's host


def _apprise_host(scheme: str, plugin) -> str | None:
    """The host the plugin will connect to when the user named it, else None."""
    if isinstance(plugin, NotifyEmail):
        return plugin.smtp_host or plugin.host  # mailto's server: smtp=, or the address's domain
    if not type(plugin).protocol or scheme in _VENDOR_ONLY:
        return None
    if getattr(plugin, "mode", None) in ("cloud", "t2bot"):  # ntfy://topic, matrix t2bot
        return None
    return getattr(plugin, "host", None) or "localhost"  # desktop ones (dbus://) post locally


def check_apprise(url: str) -> str:
    url = url.strip()
    plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        raise BadTarget("apprise does not understand this URL (see its list of services).")
    host = _apprise_host(urlsplit(url).scheme.lower(), plugin)
    if host is not None:
        check_host(host)
    return url


# --- webhook ------------------------------------------------------------------------------------
def signature(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over "<timestamp>.<body>", hex: a receiver recomputes it with the secret it
    was shown, and refuses old timestamps (a replayed message)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _post(url: str, body: bytes, headers: dict) -> None:
    try:  # again at send time: the name may resolve elsewhere since it was added
        check_url(url)
    except BadTarget as exc:  # no DNS, or now a private address: a failure, retried later
        raise DeliveryError(str(exc)) from None
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
