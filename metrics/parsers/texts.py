"""Text that is not UTF-8: CSVs written with a Windows or legacy locale's code page.

The numbers in a result never depend on the encoding, only its names do, so a file that is not
UTF-8 is decoded with the encoding charset-normalizer finds, and the guess is said on the run.
Request names are short ("get接口"): several code pages decode them without a flaw, and
charset-normalizer cannot tell GBK from Big5 or CP949 on four characters. Among the candidates
that decode equally cleanly the locale encodings load tools are most often run under win, in
PREFERRED order. Only when no candidate decodes the bytes at all is the file refused, with the
line and byte of the first one UTF-8 could not read.
"""

from __future__ import annotations

from .errors import ParseError

# Code pages a CSV is plausibly written in (Windows ANSI code pages and their East Asian
# counterparts); exotic ones (Mac Icelandic, HP Roman-8, DOS box drawing) are not candidates.
CANDIDATES = (
    "gb18030",
    "cp932",
    "cp949",
    "big5",
    "cp1252",
    "cp1251",
    "cp1250",
    "cp1253",
    "cp1254",
    "cp1255",
    "cp1256",
    "cp1257",
    "cp1258",
    "cp874",
    "koi8_r",
    "iso8859_2",
    "iso8859_15",
)
PREFERRED = {name: rank for rank, name in enumerate(CANDIDATES)}
CHAOS_TIE = 0.005  # mess ratios closer than this are the same to a reader


def where(raw: bytes, offset: int) -> str:
    """'line L, byte B (0xNN)' for an offset into raw (byte counted within its line, 1-based)."""
    line = raw.count(b"\n", 0, offset) + 1
    column = offset - (raw.rfind(b"\n", 0, offset) + 1) + 1
    return f"line {line}, byte {column} (0x{raw[offset]:02x})"


def guess(raw: bytes) -> str | None:
    """The encoding the bytes most plausibly are in, or None when none decodes them."""
    # imported here: only a file that is not UTF-8 pays its import (~25 ms)
    from charset_normalizer import from_bytes

    matches = list(from_bytes(raw, cp_isolation=list(CANDIDATES)))
    if not matches:
        return None
    best = min(m.chaos for m in matches)
    chosen = min((m for m in matches if m.chaos <= best + CHAOS_TIE), key=_rank)
    # code pages that read these bytes as the very same text (charset-normalizer lists them
    # under one match): say the usual one - Spanish "Búsqueda" is the same in CP1250 and CP1252
    return min({chosen.encoding, *chosen.could_be_from_charset}, key=_preference)


def _preference(name: str) -> int:
    return PREFERRED.get(name, len(PREFERRED))


def _rank(match) -> int:
    return _preference(match.encoding)


def decode_text(raw: bytes, name: str) -> tuple[str, str]:
    """(text, encoding) of a CSV file's bytes: UTF-8 (BOM or not) first, else the guess."""
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as exc:
        bad = exc.start + (3 if raw.startswith(b"\xef\xbb\xbf") else 0)
    encoding = guess(raw)
    if encoding is None:
        raise ParseError(f"{name} is not UTF-8 and no known encoding fits it: {where(raw, bad)}")
    return raw.decode(encoding), encoding


def decode_names(names: list[bytes], known: str | None) -> tuple[dict[bytes, str], str]:
    """Each name decoded, all with one encoding: `known`, else UTF-8, else the guess made over
    all of them together (more text, a better guess)."""
    if known is not None:
        return {n: n.decode(known, "replace") for n in names}, known
    try:
        return {n: n.decode("utf-8") for n in names}, "utf-8"
    except UnicodeDecodeError:
        pass
    joined = b"\n".join(names)
    encoding = guess(joined)
    if encoding is None:
        bad = next(n for n in names if not _is_utf8(n))
        raise ParseError(
            f"the label {bad[:40].decode('latin-1')!r} is not UTF-8 and no known encoding fits it"
        )
    return {n: n.decode(encoding) for n in names}, encoding


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
