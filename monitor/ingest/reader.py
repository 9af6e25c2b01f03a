"""Reading report files: content hash, encoding, delimiter, and rows in a stream.

A file is read twice and never held in memory whole: one pass hashes it and
settles its encoding, the second yields its rows, each with its line number
and raw text (for the quarantine).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from monitor.errors import FileRejected

BLOCK = 1 << 20
# Tried in this order after the BOM and UTF-16 checks; cp1252 decodes almost
# anything, so Shift-JIS is chosen over it only when the text holds kana.
_CANDIDATES = ("utf-8", "shift_jis", "cp1252")


@dataclass(frozen=True)
class FileFacts:
    sha256: str
    encoding: str  # a Python codec name
    size: int
    looks_like_json: bool
    problem: str | None = None  # why the file cannot be read as text at all


@dataclass(frozen=True)
class Row:
    line_number: int
    raw: str
    fields: list[str]
    error: str | None = None  # set when the line could not be split into fields


def _utf16_without_bom(head: bytes) -> str | None:
    sample = head[:4096]
    if len(sample) < 4:
        return None
    even_nuls = sample[0::2].count(0)
    odd_nuls = sample[1::2].count(0)
    half = len(sample) // 2
    if odd_nuls > 0.4 * half and even_nuls < 0.05 * half:
        return "utf-16-le"
    if even_nuls > 0.4 * half and odd_nuls < 0.05 * half:
        return "utf-16-be"
    return None


def _has_kana(text: str) -> bool:
    return any("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in text)


def inspect_file(path: Path) -> FileFacts:
    """Hash the file and work out its encoding in one streaming pass.

    A file that is not readable text still gets its hash; `problem` says why.
    """
    digest = hashlib.sha256()
    size = 0
    encoding: str | None = None
    problem: str | None = None
    decoders: dict[str, codecs.IncrementalDecoder] = {}
    kana = False
    with path.open("rb") as handle:
        while block := handle.read(BLOCK):
            if size == 0:
                encoding = _encoding_from_head(block)
                decoders = {} if encoding else {n: codecs.getincrementaldecoder(n)("strict") for n in _CANDIDATES}
            size += len(block)
            digest.update(block)
            if encoding is None and problem is None:
                if b"\x00" in block:
                    problem = "binary file (it contains NUL bytes): not a text report"
                else:
                    kana |= _feed(decoders, block, final=False)
    if size == 0:
        problem = "the file is empty"
    elif encoding is None and problem is None:
        kana |= _feed(decoders, b"", final=True)
        encoding = _pick(decoders, kana)
        if encoding is None:
            problem = "cannot decode the file as UTF-8, UTF-16, Shift-JIS or cp1252"
    first_text = ""
    if encoding and not problem:
        with path.open("rb") as handle:
            first_text = handle.read(256).decode(encoding, errors="ignore")
    return FileFacts(digest.hexdigest(), encoding or "", size, first_text.lstrip("\ufeff \t\r\n").startswith("{"), problem)


def _encoding_from_head(block: bytes) -> str | None:
    if block.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if block.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return _utf16_without_bom(block)


def _feed(decoders: dict[str, codecs.IncrementalDecoder], block: bytes, final: bool) -> bool:
    kana = False
    for name in list(decoders):
        try:
            text = decoders[name].decode(block, final)
        except UnicodeDecodeError:
            del decoders[name]
            continue
        if name == "shift_jis" and not kana:
            kana = _has_kana(text)
    return kana


def _pick(decoders: dict[str, codecs.IncrementalDecoder], kana: bool) -> str | None:
    if "utf-8" in decoders:
        return "utf-8"
    if "shift_jis" in decoders and (kana or "cp1252" not in decoders):
        return "shift_jis"
    return "cp1252" if "cp1252" in decoders else None


class _LineTap:
    """Feeds lines to csv.reader and remembers which physical lines made each row."""

    def __init__(self, stream) -> None:
        self._stream = stream
        self.lines: list[str] = []
        self.line_number = 0

    def __iter__(self) -> _LineTap:
        return self

    def __next__(self) -> str:
        try:
            line = next(self._stream)
        except UnicodeDecodeError as exc:
            raise FileRejected(f"the file is not valid {exc.encoding} at byte {exc.start}") from None
        self.line_number += 1
        self.lines.append(line)
        return line

    def take(self) -> tuple[int, str]:
        first = self.line_number - len(self.lines) + 1
        raw = "".join(self.lines).rstrip("\r\n")
        self.lines.clear()
        return first, raw


def _unwrap(field: str) -> str:
    """A whole field in quotes, inner quotes doubled (a tool's TSV export), loses its quoting."""
    if len(field) >= 2 and field[0] == field[-1] == '"':
        inner = field[1:-1]
        if inner.replace('""', "").count('"') == 0:
            return inner.replace('""', '"')
    return field


def sniff_delimiter(header_line: str) -> str:
    """Tab, comma or semicolon: whichever the header line holds most of."""
    counts = {d: header_line.count(d) for d in ("\t", ",", ";")}
    best = max(counts, key=counts.get)
    if counts[best] == 0:
        raise FileRejected("no header row with tab-, comma- or semicolon-separated columns")
    return best


class DelimitedFile:
    """The header and the rows of a comma- or tab-separated text file."""

    def __init__(self, path: Path, encoding: str, delimiter: str | None = None, quoted: bool | None = None):
        self.path = path
        self.encoding = encoding
        first_line = self._first_line()
        self.delimiter = delimiter or sniff_delimiter(first_line)
        # Amazon's tab-separated flat files are not quoted: a product name may hold a
        # bare '"'. Quote handling stays on for comma-separated files and for
        # tab-separated ones whose header is quoted (spreadsheet exports).
        if quoted is None:
            quoted = self.delimiter != "\t" or first_line.lstrip("\ufeff").startswith('"')
        self.quoting = csv.QUOTE_MINIMAL if quoted else csv.QUOTE_NONE
        self.header = self._read_header()

    def _open(self):
        return self.path.open("r", encoding=self.encoding, newline="")

    def _first_line(self) -> str:
        try:
            with self._open() as handle:
                for line in handle:
                    if line.strip():
                        return line
        except UnicodeDecodeError as exc:
            raise FileRejected(f"the file is not valid {exc.encoding} at byte {exc.start}") from None
        raise FileRejected("the file has no header row")

    def _reader(self, tap: _LineTap):
        return csv.reader(tap, delimiter=self.delimiter, quoting=self.quoting, strict=False)

    def _read_header(self) -> list[str]:
        with self._open() as handle:
            tap = _LineTap(handle)
            for fields in self._reader(tap):
                if any(f.strip() for f in fields):
                    return [f.strip().lstrip("\ufeff").strip() for f in fields]
        raise FileRejected("the file has no header row")

    def rows(self) -> Iterator[Row]:
        """Data rows after the header; blank lines are skipped."""
        with self._open() as handle:
            tap = _LineTap(handle)
            reader = self._reader(tap)
            header_seen = False
            while True:
                try:
                    fields = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    line_number, raw = tap.take()
                    yield Row(line_number, raw, [], error=f"cannot split the line: {exc}")
                    continue
                line_number, raw = tap.take()
                if not any(f.strip() for f in fields):
                    continue
                if not header_seen:
                    header_seen = True
                    continue
                if self.quoting == csv.QUOTE_NONE:
                    fields = [_unwrap(f) for f in fields]
                yield Row(line_number, raw, fields)
