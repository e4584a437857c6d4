"""boto3 plumbing shared by the CloudWatch collectors: region and credentials, the client, the
poll deadline (error mapping is in awserrors.py).

Credentials never come from a plan. They come from the `env` mapping given to poll()
(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE) or else from
boto3's standard chain (shared files, SSO, web identity, ECS task role, EC2 instance role).
Each call builds its own `boto3.session.Session()`: sessions are not thread-safe and nothing
in boto3 survives a fork (boto3#2750, botocore#1246), while a session costs only milliseconds
next to a poll every 30 s or more.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import boto3
import botocore.session
from botocore import exceptions as bx
from botocore.config import Config
from botocore.parsers import ResponseParserError

from . import awserrors
from .envvars import base_url, display_url, env_value
from .retry import Deadline
from .types import SourceError

T = TypeVar("T")

TOTAL_MAX_ATTEMPTS = 3
CONNECT_TIMEOUT_S = 2.0
# Declares that credentials come from the EC2 instance role, which only the network can confirm.
INSTANCE_ROLE_ENV = "LAUNCHBOARD_AWS_INSTANCE_ROLE"
_CONTAINER_ENV = ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI")
# Providers that would reach the network (or that we replace with the `env` mapping).
_PROVIDERS_SKIPPED_OFFLINE = ("env", "container-role", "iam-role")


@dataclass(frozen=True)
class Target:
    """Where a source's calls go; `what` names it in messages ("CloudWatch in eu-west-1")."""

    region: str | None
    endpoint_url: str | None
    what: str


def target(config: Mapping, env: Mapping[str, str]) -> Target:
    """Region and endpoint of a (valid) CloudWatch config; SourceError("config") if unusable."""
    region = resolve_region(config, env)
    if region is None:
        raise SourceError("config", _no_region_reason(config))
    endpoint = None
    if config.get("endpoint_url_env"):
        raw = env_value(env, config["endpoint_url_env"])
        if raw is not None:
            endpoint = base_url(raw, config["endpoint_url_env"], "the CloudWatch endpoint")
    where = f"at {display_url(endpoint)} ({region})" if endpoint else f"in {region}"
    return Target(region=region, endpoint_url=endpoint, what=f"CloudWatch {where}")


def resolve_region(config: Mapping, env: Mapping[str, str]) -> str | None:
    """config region > the variable region_env names > AWS_REGION > AWS_DEFAULT_REGION >
    the region of the AWS profile (read from ~/.aws/config, no network)."""
    if config.get("region"):
        return config["region"]
    if config.get("region_env"):
        return env_value(env, config["region_env"])
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        if value := env_value(env, name):
            return value
    try:
        return _botocore_session(env).get_config_variable("region")
    except bx.BotoCoreError:
        return None


def _no_region_reason(config: Mapping) -> str:
    if config.get("region_env"):
        return f"set {config['region_env']} to the AWS region to enable this source"
    return "set AWS_REGION (or 'region' in the plan) to enable this source"


def _botocore_session(env: Mapping[str, str]) -> botocore.session.Session:
    profile = env_value(env, "AWS_PROFILE")
    return botocore.session.Session(profile=profile)


def credentials_reason(env: Mapping[str, str]) -> str | None:
    """None when credentials can be found without the network, else what to set.

    Looks at `env` for keys, then boto3's offline providers (shared files, config profile,
    SSO cache, web identity, credential_process). An ECS task role counts when its variable is
    set; an EC2 instance role only when LAUNCHBOARD_AWS_INSTANCE_ROLE=1 says it is there.
    """
    if env_value(env, "AWS_ACCESS_KEY_ID") and env_value(env, "AWS_SECRET_ACCESS_KEY"):
        return None
    if any(env_value(env, name) for name in (*_CONTAINER_ENV, INSTANCE_ROLE_ENV)):
        return None
    try:
        resolver = _botocore_session(env).get_component("credential_provider")
        for name in _PROVIDERS_SKIPPED_OFFLINE:
            resolver.remove(name)
        if resolver.load_credentials() is not None:
            return None
    except (bx.BotoCoreError, ValueError) as error:
        return f"AWS credentials could not be loaded ({type(error).__name__})"
    return (
        "set AWS credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE,"
        f" or {INSTANCE_ROLE_ENV}=1 on an EC2 instance role) to enable this source"
    )


def new_client(service: str, where: Target, env: Mapping[str, str], timeout_s: float):
    """A client from its own Session, with explicit timeouts and standard-mode retries."""
    session = boto3.session.Session(region_name=where.region, **_session_keys(env))
    config = Config(
        retries={"mode": "standard", "total_max_attempts": TOTAL_MAX_ATTEMPTS},
        connect_timeout=min(CONNECT_TIMEOUT_S, timeout_s),
        read_timeout=timeout_s,
        user_agent_extra="launchboard-collector",
    )
    return session.client(service, endpoint_url=where.endpoint_url, config=config)


def _session_keys(env: Mapping[str, str]) -> dict:
    keys = {
        "aws_access_key_id": env_value(env, "AWS_ACCESS_KEY_ID"),
        "aws_secret_access_key": env_value(env, "AWS_SECRET_ACCESS_KEY"),
        "aws_session_token": env_value(env, "AWS_SESSION_TOKEN"),
    }
    if not (keys["aws_access_key_id"] and keys["aws_secret_access_key"]):
        return {"profile_name": env_value(env, "AWS_PROFILE")}
    return keys


class DeadlinePassed(Exception):
    """No new attempt starts after the poll's deadline; `last` is why the previous one failed
    (an exception, or botocore's parsed error response), so the report names the real cause."""

    def __init__(self, last: object = None) -> None:
        super().__init__("deadline passed")
        self.last = last


def guard_deadline(client, deadline: Deadline) -> None:
    """Stop botocore's retries from starting an attempt once the poll's budget is spent."""
    last: list = [None]

    def remember_failure(caught_exception=None, response=None, **_kwargs):
        if caught_exception is not None:
            last[0] = caught_exception
        elif response is not None and response[1].get("Error"):
            last[0] = response[1]
        # None: the decision to retry stays botocore's own.

    def refuse_late_attempt(**_kwargs):
        if deadline.expired():
            raise DeadlinePassed(last[0])

    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register(f"needs-retry.{service}", remember_failure)
    client.meta.events.register(f"before-send.{service}", refuse_late_attempt)


def call(fn: Callable[[], T], where: Target, timeout_s: float) -> T:
    """Run fn (boto3 calls inside); any botocore failure becomes a SourceError."""
    try:
        return fn()
    except SourceError:
        raise
    except DeadlinePassed as passed:
        raise awserrors.late_error(passed.last, where.what, timeout_s) from None
    except bx.ClientError as error:
        raise awserrors.client_error(error, where.what) from error
    except (bx.BotoCoreError, ResponseParserError) as error:
        raise awserrors.transport_error(error, where.what, timeout_s) from error


def check_is_aws(response: object, where: Target) -> dict:
    """`response` if it looks like an AWS API answer, else SourceError (see awserrors)."""
    return awserrors.check_is_aws(response, where.what)
