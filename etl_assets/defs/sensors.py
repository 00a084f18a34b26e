"""One upload sensor per dataset: it requests a run for each window that new, settled files belong to."""

import hashlib
import json

import dagster as dg
from dagster._core.storage.tags import PRIORITY_TAG

from etl_assets.config.models import DatasetConfig
from etl_assets.defs.jobs import DATASET_TAG
from etl_assets.defs.partitions import partitions_def_for
from etl_assets.defs.resources import LandingZones, ProjectHome
from etl_assets.errors import EtlAssetsError
from etl_assets.ingest.landing import LandedFile
from etl_assets.ingest.pending import pending_uploads, signature

SENSOR_INTERVAL_SECONDS = 30
# The run queue starts higher `dagster/priority` first among runs its limits let start (0 when untagged), so a
# fresh upload's run goes ahead of a long backfill's queued runs of the same dataset instead of waiting them out.
UPLOAD_RUN_PRIORITY = 10


def upload_run_tags(dataset_name: str, new_files: int) -> dict[str, str]:
    return {DATASET_TAG: dataset_name, PRIORITY_TAG: str(UPLOAD_RUN_PRIORITY), "etl_assets/new_files": str(new_files)}


def build_upload_sensor(dataset: DatasetConfig, job_name: str) -> dg.SensorDefinition:
    partitions_def = partitions_def_for(dataset.partitions)

    @dg.sensor(
        name=f"{dataset.name}_uploads",
        job_name=job_name,
        minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Requests a run of {dataset.name}'s chain for each window with new files in its landing zone.",
    )
    def upload_sensor(context: dg.SensorEvaluationContext, landing_zones: LandingZones, project: ProjectHome) -> dg.SensorResult | dg.SkipReason:
        """Cursor: the signature (size and mtime, or S3 ETag) of each file already requested, and the windows of each
        file read for its rows' dates, both pruned to files still landing. It never raises: a file it cannot place
        is skipped with the reason in the tick's log, and a landing zone it cannot reach skips the tick."""
        cursor = json.loads(context.cursor) if context.cursor else {}
        seen: dict[str, str] = cursor.get("seen", {})
        try:
            pending = pending_uploads(dataset, landing_zones.zone_for(dataset), cursor.get("row_windows", {}), project.paths)
        except EtlAssetsError as exc:
            return dg.SkipReason(str(exc))
        except Exception as exc:  # a sensor that raises stops requesting runs for every file: say why and go on
            return dg.SkipReason(f"{dataset.name}'s landing zone could not be read ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); a later tick tries again.")
        for name, reason in pending.skipped:
            context.log.warning(f"{dataset.name}: skipped {name!r}: {reason}")
        requested: dict[str, str] = {}
        run_requests = []
        for window_key, files in pending.windows.items():
            signatures = {f.name: signature(f) for f in files}
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
                    tags=upload_run_tags(dataset.name, len(new)),
                )
            )
        cursor = json.dumps({"seen": requested, "row_windows": pending.row_windows}, sort_keys=True)
        return dg.SensorResult(run_requests=run_requests, cursor=cursor, skip_reason=None if run_requests else _why_nothing(pending.settling, dataset))

    return upload_sensor


def _why_nothing(settling: list[LandedFile], dataset: DatasetConfig) -> str | None:
    """Say so when files are still being written: the sensor takes them on a later tick."""
    if not settling:
        return None
    return (
        f"{len(settling)} file(s) in {dataset.name}'s landing zone changed less than {dataset.source.settle_seconds:g} s ago "
        "(source.settle_seconds) and may still be written; a later tick requests them."
    )
