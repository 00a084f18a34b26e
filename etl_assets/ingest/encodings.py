"""Which encoding a text file is in, decided on a sample, and its text decoded chunk by chunk."""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from pathlib import Path

import charset_normalizer

from etl_assets.errors import IngestError

CHUNK_BYTES = 8 * 1024 * 1024
SAMPLE_BYTES = 1024 * 1024
# Longest BOM first: the UTF-32 LE BOM starts with the UTF-16 LE one.
BOM_ENCODINGS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
WESTERN_ENCODINGS = ("cp1252", "latin_1", "iso8859_15")
C1_CONTROLS = re.compile("[\x80-\x9f]")
NON_ASCII_BYTE = re.compile(rb"[\x80-\xff]")
LETTER_RUN = re.compile(r"[^\W\d_]+")
# In Western words an accent is one letter among several; another script read as cp1252 gives words of accents only.
MAX_WESTERN_ACCENT_SHARE = 0.6


def detect_encoding(path: Path) -> str | None:
    """The file's encoding: a BOM, else UTF-8, else a Western code page unless the text is clearly in another script."""
    sample = _detection_sample(path)
    for bom, encoding in BOM_ENCODINGS:
        if sample.startswith(bom):
            return encoding
    if b"\x00" in sample:  # UTF-16 or UTF-32 without a BOM, or not text at all
        return _best_guess(sample)
    if sample.isascii():
        return "ascii"
    if _decodes(sample, "utf-8"):
        return "utf-8"
    western = next((name for name in WESTERN_ENCODINGS if _is_clean_western(sample, name)), None)
    return western or _best_guess(sample)


def _best_guess(sample: bytes) -> str | None:
    best = charset_normalizer.from_bytes(sample).best()
    return best.encoding if best else None


def decoded_chunks(path: Path, encoding: str, original_name: str, configured: bool) -> Iterator[str]:
    """The file's text in chunks; bytes that do not decode are an IngestError naming the file, the encoding and the line."""
    decoder = codecs.getincrementaldecoder(_without_bom(encoding))(errors="strict")
    lines_before = 1
    with path.open("rb") as handle:
        while True:
            data = handle.read(CHUNK_BYTES)
            try:
                text = decoder.decode(data, final=not data)
            except UnicodeDecodeError as exc:
                line = lines_before + _lines_in(data[: max(exc.start, 0)], encoding)
                raise IngestError(_undecodable(original_name, encoding, line, configured)) from None
            lines_before += text.count("\n")
            if text:
                yield text
            if not data:
                return


def _detection_sample(path: Path) -> bytes:
    """The file's start, or when that is plain ASCII, the bytes from the line of its first non-ASCII byte on."""
    with path.open("rb") as handle:
        head = handle.read(SAMPLE_BYTES)
        if not head.isascii() or b"\x00" in head:
            return head
        while chunk := handle.read(CHUNK_BYTES):
            found = NON_ASCII_BYTE.search(chunk)
            if found:
                line_start = chunk.rfind(b"\n", 0, found.start()) + 1
                return chunk[line_start:] + handle.read(max(0, SAMPLE_BYTES - len(chunk) + line_start))
    return head


def _is_clean_western(sample: bytes, encoding: str) -> bool:
    """The sample decodes with no undefined byte and no C1 control, and does not read as another script."""
    try:
        text = codecs.getincrementaldecoder(encoding)().decode(sample)
    except UnicodeDecodeError:
        return False
    if C1_CONTROLS.search(text):
        return False
    accented_words = [word for word in LETTER_RUN.findall(text) if not word.isascii()]
    letters = sum(len(word) for word in accented_words)
    accents = sum(not letter.isascii() for word in accented_words for letter in word)
    return accents <= MAX_WESTERN_ACCENT_SHARE * letters


def _decodes(sample: bytes, encoding: str) -> bool:
    try:
        codecs.getincrementaldecoder(encoding)().decode(sample)  # not final: the sample may end inside a character
    except UnicodeDecodeError:
        return False
    return True


def _without_bom(encoding: str) -> str:
    """A configured utf-8 still drops a BOM, so it never reaches the first header."""
    return "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding


def _lines_in(data: bytes, encoding: str) -> int:
    return data.decode(encoding, errors="ignore").count("\n")


def _undecodable(original_name: str, encoding: str, line: int, configured: bool) -> str:
    if configured:
        return (
            f"{original_name!r} is not valid {encoding} (source.encoding) at line {line}; "
            "set source.encoding to the encoding it was exported in, or re-export it as UTF-8."
        )
    return (
        f"{original_name!r} changes encoding at line {line} (it began as {encoding}); "
        "re-export it in one encoding, such as UTF-8, or set source.encoding."
    )
