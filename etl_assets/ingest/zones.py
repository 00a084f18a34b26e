"""Which landing zone a dataset's source points at: a local folder, or an S3 prefix (kept apart from both modules so
neither imports the other)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from etl_assets.config.models import SourceConfig
from etl_assets.ingest.landing import LandingZone, LocalLandingZone


def landing_zone_for(source: SourceConfig, s3_client: Any = None) -> LandingZone:
    """The landing zone a dataset's source points at; an S3 one through `s3_client` (a boto3 S3 client), or one
    made from the source's S3 settings and the vault."""
    if source.is_s3:
        # imported here: only S3 landing zones need botocore
        from etl_assets.ingest.s3_landing import S3LandingZone, s3_client_for

        return S3LandingZone(source, s3_client or s3_client_for(source))
    return LocalLandingZone(Path(source.path), source.pattern, source.settle_seconds)
