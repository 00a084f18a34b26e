"""One upload sensor per dataset: it requests a run for each window that new, settled files belong to."""

import hashlib
import json

import dagster as dg

from etl_assets.config.models import DatasetConfig
from etl_assets.defs.jobs import DATASET_TAG
from etl_assets.defs.partitions import partitions_def_for
from etl_assets.errors import EtlAssetsError
from etl_assets.ingest.landing import LandedFile, landing_zone_for
from etl_assets.ingest.upload import by_window

SENSOR_INTERVAL_SECONDS = 30


def file_signature(size: int, arrived_at_us: int) -> str:
    return f"{size}:{arrived_at_us}"


def build_upload_sensor(dataset: DatasetConfig, job_name: str) -> dg.SensorDefinition:
    partitions_def = partitions_def_for(dataset.partitions)

    @dg.sensor(
        name=f"{dataset.name}_uploads",
        job_name=job_name,
        minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Requests a run of {dataset.name}'s chain for each window with new files in its landing zone.",
    )
    def upload_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        """Cursor: the signature (size, mtime) of each file already requested, pruned to files still landing."""
        seen: dict[str, str] = json.loads(context.cursor)["seen"] if context.cursor else {}
        try:
            scan = landing_zone_for(dataset.source).scan()
            pending = by_window(dataset, scan.ready)
        except EtlAssetsError as exc:
            return dg.SkipReason(str(exc))
        requested: dict[str, str] = {}
        run_requests = []
        for window_key, files in sorted(pending.items()):
            signatures = {f.name: file_signature(f.size, int(f.arrived_at.timestamp() * 1_000_000)) for f in files}
            if not partitions_def.has_partition_key(window_key):
                # Not marked seen: a file dated ahead is requested once its window opens.
                context.log.warning(f"{dataset.name}: files {sorted(signatures)} belong to window {window_key}, outside the dataset's partitions; skipped.")
                continue
            requested.update(signatures)
            new = sorted(f"{name}={sig}" for name, sig in signatures.items() if seen.get(name) != sig)
            if not new:
                continue
            digest = hashlib.sha256("\n".join(new).encode()).hexdigest()[:16]
            run_requests.append(
                dg.RunRequest(
                    run_key=f"{dataset.name}:{window_key}:{digest}",
                    partition_key=window_key,
                    tags={DATASET_TAG: dataset.name, "etl_assets/new_files": str(len(new))},
                )
            )
        cursor = json.dumps({"seen": requested}, sort_keys=True)
        return dg.SensorResult(run_requests=run_requests, cursor=cursor, skip_reason=None if run_requests else _why_nothing(scan.settling, dataset))

    return upload_sensor


def _why_nothing(settling: list[LandedFile], dataset: DatasetConfig) -> str | None:
    """Say so when files are still being written: the sensor takes them on a later tick."""
    if not settling:
        return None
    return (
        f"{len(settling)} file(s) in {dataset.name}'s landing zone changed less than {dataset.source.settle_seconds:g} s ago "
        "(source.settle_seconds) and may still be written; a later tick requests them."
    )
