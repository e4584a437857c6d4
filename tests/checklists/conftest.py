"""What the tests of the launch share: CloudWatch for the demo launch's live sources."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest

from tests.support.moto_server import running_moto_server


@pytest.fixture
def aws(monkeypatch):
    with running_moto_server() as moto:
        for name, value in {
            "AWS_REGION": "eu-west-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "LAUNCHBOARD_AWS_ENDPOINT_URL": moto.url,
        }.items():
            monkeypatch.setenv(name, value)
        yield boto3.client("cloudwatch", region_name="eu-west-1", endpoint_url=moto.url)


def put_connections(cloudwatch, values):
    now = datetime.now(UTC)
    cloudwatch.put_metric_data(
        Namespace="AWS/RDS",
        MetricData=[
            {
                "MetricName": "DatabaseConnections",
                "Value": v,
                "Unit": "Count",
                "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": "whatsapp-saas-db"}],
                "Timestamp": now - timedelta(seconds=90 + 30 * i),
            }  # whole minutes only
            for i, v in enumerate(values)
        ],
    )
