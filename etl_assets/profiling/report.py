"""A self-contained HTML report of a window's profile: overview, candidates, drift and one section per column."""

from __future__ import annotations

import html

from etl_assets.profiling.model import ColumnProfile, Drift, Profile

CHART_WIDTH = 520
BAR_HEIGHT = 18
HISTOGRAM_HEIGHT = 160
STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f5f6f8;color:#1f2933}
header{background:#1f3a5f;color:#fff;padding:18px 32px}header h1{margin:0;font-size:22px}
main{padding:16px 32px;max-width:1180px}
section{background:#fff;border:1px solid #d9dee5;border-radius:8px;padding:14px 18px;margin:14px 0}
h2{font-size:18px;margin:0 0 10px}h3{font-size:14px;margin:12px 0 6px;color:#52606d}
.cards{display:flex;flex-wrap:wrap;gap:10px}.card{background:#eef2f7;border-radius:6px;padding:8px 14px;min-width:110px}
.card b{display:block;font-size:20px}.card span{font-size:12px;color:#52606d}
.column{display:grid;grid-template-columns:minmax(300px,1fr) 540px;gap:18px;align-items:start}
table{border-collapse:collapse;font-size:13px;width:100%}td,th{border-bottom:1px solid #e4e7eb;padding:3px 6px;text-align:left}
th{color:#52606d;font-weight:600;width:40%}.tag{background:#dbeafe;color:#1e40af;border-radius:4px;padding:1px 6px;font-size:12px;margin-left:6px}
.warn{color:#9a3412}.chart text{font-size:11px;fill:#334e68}
"""
# Charts that really drew have a non-zero bounding box; a test reads the count from the DOM.
SCRIPT = """
window.addEventListener('load', function () {
  var charts = document.querySelectorAll('svg.chart'), rendered = 0;
  charts.forEach(function (svg) { var box = svg.getBBox(); if (box.width > 0 && box.height > 0) { rendered += 1; } });
  document.body.dataset.chartsRendered = String(rendered);
});
"""


def render_report(profile: Profile, *, dataset: str, window_key: str, drift: Drift | None = None) -> str:
    """The report as one HTML document with inline CSS, SVG charts and script, and no external URL."""
    title = f"Profile of {dataset}, window {window_key}"
    sections = [_overview(profile, drift), _candidates(profile), _drift(drift)] + [_column(c, profile.row_count) for c in profile.columns]
    charts = sum(1 for c in profile.columns if _chart(c))
    return (
        f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{_e(title)}</title>"
        f"<style>{STYLE}</style></head><body data-charts-total=\"{charts}\"><header><h1>{_e(title)}</h1></header>"
        f"<main>{''.join(sections)}</main><script>{SCRIPT}</script></body></html>"
    )


def _overview(profile: Profile, drift: Drift | None) -> str:
    cards = [
        ("rows", f"{profile.row_count:,}"),
        ("columns", str(len(profile.columns))),
        ("duplicate rows", f"{profile.duplicate_rows:,}"),
        ("key candidates", str(len(profile.key_candidates))),
        ("date candidates", str(len(profile.date_candidates))),
        ("drift findings", "n/a" if drift is None else str(len(drift.findings))),
    ]
    body = "".join(f"<div class=\"card\"><b>{_e(value)}</b><span>{_e(label)}</span></div>" for label, value in cards)
    return f"<section id=\"overview\"><h2>Overview</h2><div class=\"cards\">{body}</div></section>"


def _candidates(profile: Profile) -> str:
    keys = ", ".join(" + ".join(key) for key in profile.key_candidates) or "none"
    dates = [(d.column, d.format or "native", d.reason) for d in profile.date_candidates]
    rejected = [(d.column, "-", d.reason) for d in profile.rejected_date_columns]
    rows = "".join(f"<tr><td>{_e(c)}</td><td>{_e(f)}</td><td>{_e(r)}</td></tr>" for c, f, r in dates + rejected)
    table = f"<table><tr><th>column</th><th>format</th><th>why</th></tr>{rows}</table>" if rows else "<p>none</p>"
    return f"<section id=\"candidates\"><h2>Candidates</h2><h3>Primary keys</h3><p>{_e(keys)}</p><h3>Date columns</h3>{table}</section>"


def _drift(drift: Drift | None) -> str:
    if drift is None:
        return "<section id=\"drift\"><h2>Drift</h2><p>No previous window to compare with.</p></section>"
    if not drift.findings:
        return "<section id=\"drift\"><h2>Drift</h2><p>No drift against the previous window.</p></section>"
    rows = "".join(f"<tr><td>{_e(f.kind)}</td><td>{_e(f.column or '')}</td><td class=\"warn\">{_e(f.detail)}</td></tr>" for f in drift.findings)
    return f"<section id=\"drift\"><h2>Drift</h2><table><tr><th>kind</th><th>column</th><th>detail</th></tr>{rows}</table></section>"


def _column(column: ColumnProfile, row_count: int) -> str:
    tag = f"<span class=\"tag\">{_e(column.semantic_type)}</span>" if column.semantic_type else ""
    stats = "".join(f"<tr><th>{_e(label)}</th><td>{_e(_text(value))}</td></tr>" for label, value in _stats(column, row_count))
    shapes = ", ".join(f"{shape} ({count})" for shape, count in column.pattern_sample)
    shape_row = f"<tr><th>value shapes</th><td>{_e(shapes)}</td></tr>" if shapes else ""
    chart = _chart(column) or "<p>No chart: every value is distinct or missing.</p>"
    return (
        f"<section class=\"column-section\"><h2>{_e(column.name)} <small>{_e(column.inferred_type)}</small>{tag}</h2>"
        f"<div class=\"column\"><table>{stats}{shape_row}</table><div>{chart}</div></div></section>"
    )


def _stats(column: ColumnProfile, row_count: int) -> list[tuple[str, object]]:
    null_share = f" ({100 * column.null_count / row_count:.1f}%)" if row_count else ""
    approximate = " (approximate)" if column.distinct_is_approximate else ""
    rows: list[tuple[str, object]] = [
        ("stored as", column.physical_type),
        ("nulls", f"{column.null_count:,}{null_share}"),
        ("empty strings", f"{column.empty_count:,}"),
        ("distinct", f"{column.distinct_count:,}{approximate}"),
        ("min", column.min),
        ("max", column.max),
    ]
    if column.mean is not None:
        rows += [("mean", _number(column.mean)), ("stddev", _number(column.stddev))]
    if column.quantiles:
        rows.append((f"p5 / p25 / p50 / p75 / p95{approximate}", " / ".join(_text(_number(v)) for v in column.quantiles.values())))
    if column.length:
        rows.append(("length min / mean / max", f"{column.length['min']} / {column.length['mean']} / {column.length['max']}"))
    return rows


def _chart(column: ColumnProfile) -> str:
    if column.histogram:
        return _histogram_svg(column.histogram)
    if column.top_values:
        return _bars_svg(column.top_values)
    return ""


def _histogram_svg(bins: list[list[float]]) -> str:
    highest = max(count for _, _, count in bins) or 1
    width = (CHART_WIDTH - 20) / len(bins)
    bars = []
    for index, (low, high, count) in enumerate(bins):
        height = (HISTOGRAM_HEIGHT - 30) * count / highest
        x, y = 10 + index * width, HISTOGRAM_HEIGHT - 20 - height
        bars.append(
            f"<rect x=\"{x:.1f}\" y=\"{y:.1f}\" width=\"{width - 2:.1f}\" height=\"{height:.1f}\" fill=\"#3b82f6\">"
            f"<title>{_e(_number(low))} to {_e(_number(high))}: {count:,}</title></rect>"
        )
    axis = (
        f"<text x=\"10\" y=\"{HISTOGRAM_HEIGHT - 5}\">{_e(_text(_number(bins[0][0])))}</text>"
        f"<text x=\"{CHART_WIDTH - 10}\" y=\"{HISTOGRAM_HEIGHT - 5}\" text-anchor=\"end\">{_e(_text(_number(bins[-1][1])))}</text>"
    )
    return (
        f"<svg class=\"chart histogram\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{CHART_WIDTH}\" height=\"{HISTOGRAM_HEIGHT}\" "
        f"role=\"img\" aria-label=\"histogram\">{''.join(bars)}{axis}</svg>"
    )


def _bars_svg(top_values: list[list]) -> str:
    highest = max(count for _, count in top_values) or 1
    label_width, bars = 170, []
    for index, (value, count) in enumerate(top_values):
        y = index * (BAR_HEIGHT + 4)
        length = (CHART_WIDTH - label_width - 70) * count / highest
        label = _text(value)
        label = label if len(label) <= 24 else label[:23] + "…"
        bars.append(
            f"<text x=\"{label_width - 6}\" y=\"{y + 13}\" text-anchor=\"end\">{_e(label)}</text>"
            f"<rect x=\"{label_width}\" y=\"{y}\" width=\"{max(length, 1):.1f}\" height=\"{BAR_HEIGHT}\" fill=\"#10b981\"/>"
            f"<text x=\"{label_width + max(length, 1) + 4:.1f}\" y=\"{y + 13}\">{count:,}</text>"
        )
    height = len(top_values) * (BAR_HEIGHT + 4)
    return (
        f"<svg class=\"chart bars\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{CHART_WIDTH}\" height=\"{height}\" "
        f"role=\"img\" aria-label=\"top values\">{''.join(bars)}</svg>"
    )


def _number(value: object) -> object:
    return f"{value:,.4g}" if isinstance(value, float) else value


def _text(value: object) -> str:
    if value is None:
        return ""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _e(value: object) -> str:
    return html.escape(_text(value))
