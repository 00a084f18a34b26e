import random
import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl_assets.files import write_atomically
from etl_assets.profiling.drift import compare_profiles
from etl_assets.profiling.profiler import profile_parquet
from etl_assets.profiling.report import render_report
from etl_assets_tests.profiling.browser import png_pixels, run_chromium

ROWS = 1000


def _orders(rows):
    rng = random.Random(3)
    return pa.table(
        {
            "order_id": [str(i) for i in range(rows)],
            "email": [f"user{rng.randint(1, 400)}@example.com" for _ in range(rows)],
            "status": [rng.choice(["paid", "shipped", "refunded", "cancelled"]) for _ in range(rows)],
            "amount": [f"{rng.gauss(100, 30):.2f}" for _ in range(rows)],
            "order_day": [f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/2026" for _ in range(rows)],
            "note": [f"<b>call</b> before {rng.randint(1, 10**6)} & wrap" for _ in range(rows)],
        }
    )


def _report(tmp_path):
    pq.write_table(_orders(ROWS), tmp_path / "now.parquet")
    pq.write_table(_orders(ROWS // 4), tmp_path / "before.parquet")
    profile = profile_parquet(tmp_path / "now.parquet")
    drift = compare_profiles(profile_parquet(tmp_path / "before.parquet"), profile)
    path = tmp_path / "lake" / "orders" / "profile" / "2026-01-01.html"
    write_atomically(path, render_report(profile, dataset="orders", window_key="2026-01-01", drift=drift))
    return path


def test_report_is_self_contained_and_escaped(tmp_path):
    html = _report(tmp_path).read_text()
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert "<b>call</b>" not in html and "&lt;b&gt;call&lt;/b&gt;" in html
    assert html.count("<svg class=\"chart") == 5
    assert "%d/%m/%Y" in html and "drift" in html.lower()
    assert [p.name for p in (tmp_path / "lake" / "orders" / "profile").iterdir()] == ["2026-01-01.html"]


@pytest.mark.browser
def test_charts_render_in_headless_chromium(tmp_path):
    report = _report(tmp_path)
    dom = run_chromium(tmp_path / "browser", "--dump-dom", report.as_uri()).stdout
    total = int(re.search(r'data-charts-total="(\d+)"', dom)[1])
    rendered = re.search(r'data-charts-rendered="(\d+)"', dom)
    assert total == 5
    assert rendered is not None and int(rendered[1]) == total


@pytest.mark.browser
def test_screenshot_is_not_blank(tmp_path):
    report = _report(tmp_path)
    screenshot = tmp_path / "report.png"
    run_chromium(tmp_path / "browser", f"--screenshot={screenshot}", "--window-size=1280,2000", report.as_uri())
    width, height, rows = png_pixels(screenshot)
    assert (width, height) == (1280, 2000)
    pixels = [row[i : i + 3] for row in rows[::8] for i in range(0, len(row), 24)]
    non_white = sum(1 for pixel in pixels if pixel != b"\xff\xff\xff")
    assert non_white > len(pixels) * 0.3
    assert len(set(pixels)) > 20
    # the chart colours are on the page: blue histogram bars and green top-value bars
    assert b"\x3b\x82\xf6" in set(pixels) and b"\x10\xb9\x81" in set(pixels)
