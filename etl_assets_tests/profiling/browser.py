"""Headless Chromium as a real subprocess, and a stdlib PNG decoder to look at its screenshots."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
)


def chromium() -> str:
    """The chromium binary; a missing browser fails the test rather than skipping it."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.fail("chromium is not installed; run `apt-get install -y chromium` (the .ci/run script does) to test the report")
    return binary


def run_chromium(profile_dir: Path, *args: str) -> subprocess.CompletedProcess:
    command = [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile_dir}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


def png_pixels(path: Path) -> tuple[int, int, list[bytes]]:
    """Width, height and the unfiltered rows of an 8-bit RGB or RGBA PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    offset, chunks, header = 8, [], None
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset : offset + 8])
        body = data[offset + 8 : offset + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        offset += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, f"unsupported PNG layout {header}"
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    stride = width * channels
    rows, previous = [], bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        row = _unfilter(raw[start], bytearray(raw[start + 1 : start + 1 + stride]), previous, channels)
        rows.append(bytes(row))
        previous = row
    return width, height, [_rgb(row, channels) for row in rows]


def _unfilter(kind: int, row: bytearray, above: bytes, bpp: int) -> bytearray:
    if kind == 0:
        return row
    if kind == 2:
        return bytearray((a + b) & 0xFF for a, b in zip(row, above))
    for i in range(len(row)):
        left = row[i - bpp] if i >= bpp else 0
        up = above[i]
        if kind == 1:
            row[i] = (row[i] + left) & 0xFF
        elif kind == 3:
            row[i] = (row[i] + (left + up) // 2) & 0xFF
        else:
            corner = above[i - bpp] if i >= bpp else 0
            row[i] = (row[i] + _paeth(left, up, corner)) & 0xFF
    return row


def _paeth(left: int, up: int, corner: int) -> int:
    estimate = left + up - corner
    distances = (abs(estimate - left), abs(estimate - up), abs(estimate - corner))
    return (left, up, corner)[distances.index(min(distances))]


def _rgb(row: bytes, channels: int) -> bytes:
    return row if channels == 3 else bytes(b for i, b in enumerate(row) if i % 4 != 3)
