from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from etl_assets.config.models import PartitionsConfig
from etl_assets.errors import IngestError
from etl_assets.ingest.windows import window_for, window_from_key

DAGSTER_DEFINITIONS = {
    "hourly": lambda zone: dg.HourlyPartitionsDefinition(start_date="2026-01-01-00:00", timezone=zone),
    "daily": lambda zone: dg.DailyPartitionsDefinition(start_date="2026-01-01", timezone=zone),
    "weekly": lambda zone: dg.WeeklyPartitionsDefinition(start_date="2026-01-05", day_offset=1, timezone=zone),
    "monthly": lambda zone: dg.MonthlyPartitionsDefinition(start_date="2026-01-01", timezone=zone),
}
CASES = [
    ("hourly", "UTC", "2026-06-15-13:00"),
    ("hourly", "Europe/Paris", "2026-03-29-01:00"),
    ("hourly", "Europe/Paris", "2026-03-29-03:00"),
    ("hourly", "Europe/Paris", "2026-10-25-02:00"),
    ("hourly", "Europe/Paris", "2026-10-25-02:00+0100"),
    ("daily", "UTC", "2026-02-28"),
    ("daily", "America/New_York", "2026-03-08"),
    ("daily", "Europe/Paris", "2026-10-25"),
    ("weekly", "UTC", "2026-01-12"),
    ("weekly", "America/New_York", "2026-11-02"),
    ("monthly", "Australia/Sydney", "2026-04-01"),
    ("monthly", "UTC", "2026-12-01"),
]


def _partitions(cadence: str, zone: str) -> PartitionsConfig:
    return PartitionsConfig(cadence=cadence, start="2026-01-01", timezone=zone)


@pytest.mark.parametrize(("cadence", "zone", "key"), CASES)
def test_window_from_key_matches_dagster(cadence, zone, key):
    expected = DAGSTER_DEFINITIONS[cadence](zone).time_window_for_partition_key(key)
    window = window_from_key(key, _partitions(cadence, zone))
    assert window.key == key
    # Same-zone datetimes compare without their fold, so compare instants.
    assert (window.start.timestamp(), window.end.timestamp()) == (expected.start.timestamp(), expected.end.timestamp())
    assert str(window.start.tzinfo) == zone


@pytest.mark.parametrize(("cadence", "zone", "key"), CASES)
def test_every_instant_of_a_window_maps_back_to_its_key(cadence, zone, key):
    window = window_from_key(key, _partitions(cadence, zone))
    last_instant = window.end.astimezone(UTC) - timedelta(microseconds=1)
    assert window_for(window.start, _partitions(cadence, zone)).key == key
    assert window_for(last_instant, _partitions(cadence, zone)).key == key


def test_keys_over_a_dst_fall_back_day_match_dagsters_key_list():
    partitions = _partitions("hourly", "Europe/Paris")
    dagster_keys = dg.HourlyPartitionsDefinition(start_date="2026-10-25-00:00", timezone="Europe/Paris").get_partition_keys(
        datetime(2026, 10, 26, tzinfo=UTC)
    )
    instants = [datetime(2026, 10, 24, 22, tzinfo=UTC) + timedelta(hours=hour) for hour in range(25)]
    assert [window_for(instant, partitions).key for instant in instants] == dagster_keys[:25]


def test_weeks_start_on_monday_and_naive_instants_are_local():
    partitions = _partitions("weekly", "America/New_York")
    assert window_for(datetime(2026, 1, 18, 23, 30), partitions).key == "2026-01-12"
    assert window_for(datetime(2026, 1, 19, 3, 0, tzinfo=UTC), partitions).key == "2026-01-12"
    assert window_for(datetime(2026, 1, 19, 6, 0, tzinfo=UTC), partitions).key == "2026-01-19"


@pytest.mark.parametrize(
    ("cadence", "key"),
    [("weekly", "2026-01-07"), ("monthly", "2026-01-15"), ("daily", "2026-1-5"), ("hourly", "2026-03-29-02:00"), ("daily", "yesterday")],
)
def test_keys_dagster_would_not_produce_are_refused(cadence, key):
    with pytest.raises(IngestError, match="is not a .* partition key"):
        window_from_key(key, _partitions(cadence, "Europe/Paris"))
