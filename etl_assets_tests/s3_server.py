"""moto's S3 server on loopback, shared by the tests of S3 landing zones: each test takes a bucket of its own."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

# moto accepts any key; these keep the tests off whatever AWS credentials the machine has
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str

    def client(self) -> Any:
        """A boto3 S3 client of the server, with dummy credentials."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def new_bucket(self) -> str:
        """A fresh, empty bucket."""
        name = f"landing-{uuid.uuid4().hex[:16]}"
        self.client().create_bucket(Bucket=name)
        return name
