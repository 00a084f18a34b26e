"""Which encoding a text file is in, decided on a sample, and its text decoded chunk by chunk."""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator

import charset_normalizer

from etl_assets.errors import IngestError
from etl_assets.ingest.model import Opener

# A block of text is split, checked and parsed as a unit, which takes many times its size: 2 MiB keeps the reader's
# peak near 150 MiB above the interpreter's at the same speed as larger blocks.
CHUNK_BYTES = 2 * 1024 * 1024
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
# The code pages most legacy exports in other scripts use: Cyrillic, Greek, Central European, Turkish, Hebrew, Arabic,
# Baltic, Thai, and the Japanese, Chinese and Korean double-byte ones.
LEGACY_ENCODINGS = (
    "cp1251", "koi8_r", "cp1253", "cp1250", "cp1254", "cp1255", "cp1256", "cp1257", "cp874",
    "cp932", "euc_jp", "gb18030", "big5", "cp949",
)
C1_CONTROLS = re.compile("[\x80-\x9f]")
NON_ASCII_BYTE = re.compile(rb"[\x80-\xff]")
UTF8_CHARACTER = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
LETTER_RUN = re.compile(r"[^\W\d_]+")
# In Western words an accent is one letter among several; another script read as cp1252 gives words of accents only.
MAX_WESTERN_ACCENT_SHARE = 0.6


def detect_encoding(open_binary: Opener, original_name: str) -> str | None:
    """The file's encoding: a BOM, else UTF-8, else a Western code page unless the text is clearly in another script."""
    sample, lines_before = _detection_sample(open_binary)
    sample = _whole_characters(sample)
    for bom, encoding in BOM_ENCODINGS:
        if sample.startswith(bom):
            return encoding
    if b"\x00" in sample:  # UTF-16 or UTF-32 without a BOM, or not text at all
        return _best_guess(sample)
    if sample.isascii():
        return "ascii"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample)  # not final: the sample may end inside a character
        return "utf-8"
    except UnicodeDecodeError as exc:
        if _mostly_utf8(sample):
            # Read as a code page, its UTF-8 characters would load as mojibake such as "JosÃ©".
            line = 1 + lines_before + sample[: exc.start].count(b"\n")
            raise IngestError(_undecodable(original_name, "utf-8", line, configured=False)) from None
    western = next((name for name in WESTERN_ENCODINGS if _is_clean_western(sample, name)), None)
    return western or _best_guess(sample, LEGACY_ENCODINGS) or _best_guess(sample)


def _best_guess(sample: bytes, candidates: tuple[str, ...] | None = None) -> str | None:
    """charset-normalizer's pick, among `candidates` when given (it errs less on short or repetitive samples then)."""
    if candidates:
        best = charset_normalizer.from_bytes(sample, cp_isolation=list(candidates), threshold=0.5).best()
    else:
        best = charset_normalizer.from_bytes(sample).best()
    return best.encoding if best else None


def decoded_chunks(open_binary: Opener, encoding: str, original_name: str, configured: bool) -> Iterator[str]:
    """The file's text in chunks; bytes that do not decode are an IngestError naming the file, the encoding and the line."""
    decoder = codecs.getincrementaldecoder(_without_bom(encoding))(errors="strict")
    lines_before = 1
    with open_binary() as handle:
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


def _detection_sample(open_binary: Opener) -> tuple[bytes, int]:
    """The file's start, or when that is plain ASCII, the bytes from the line of its first non-ASCII byte on;
    and how many lines come before the sample."""
    with open_binary() as handle:
        head = handle.read(SAMPLE_BYTES)
        if not head.isascii() or b"\x00" in head:
            return head, 0
        lines_before = head.count(b"\n")
        while chunk := handle.read(CHUNK_BYTES):
            found = None if chunk.isascii() else NON_ASCII_BYTE.search(chunk)  # isascii is many times faster
            if not found:
                lines_before += chunk.count(b"\n")
                continue
            line_start = chunk.rfind(b"\n", 0, found.start()) + 1
            sample = chunk[line_start : line_start + SAMPLE_BYTES]
            return sample + handle.read(SAMPLE_BYTES - len(sample)), lines_before + chunk.count(b"\n", 0, line_start)
    return head, 0


def _whole_characters(sample: bytes) -> bytes:
    """A full sample cut where no character can be split: after its last line end, or at a 4-byte boundary for UTF-16/32."""
    if len(sample) < SAMPLE_BYTES:
        return sample
    if b"\x00" in sample:
        return sample[: len(sample) // 4 * 4]
    return sample[: sample.rfind(b"\n") + 1] or sample


def _mostly_utf8(sample: bytes) -> bool:
    """Most non-ASCII bytes form UTF-8 characters: a UTF-8 file with some bytes of another encoding in it."""
    in_characters = sum(len(match) for match in UTF8_CHARACTER.findall(sample))
    return in_characters * 2 >= len(NON_ASCII_BYTE.findall(sample))


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
