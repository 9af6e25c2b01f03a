"""Reading report files: content hash, encoding, delimiter, and rows in a stream.

A file is read twice and never held in memory whole: one pass hashes it and
settles its encoding, the second yields its rows, each with its line number
and raw text (for the quarantine).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import BinaryIO, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from monitor.errors import FileRejected

BLOCK = 1 << 20
MAX_FIELD_LINES = 1000  # a quoted field spanning more lines than this is taken for a stray quote
MAX_COLUMNS = 1000  # a header with more columns is not a report
MAX_FIELD_CHARS = csv.field_size_limit()  # a longer field makes its row a bad row (128 KiB)
_JAPANESE = re.compile("[\u3040-\u30ff\u4e00-\u9fff]")


@dataclass(frozen=True)
class FileFacts:
    sha256: str
    encoding: str  # a Python codec name
    size: int
    looks_like_json: bool
    problem: str | None = None  # why the file cannot be read as text at all
    lines: LineIndex | None = None  # where its lines end, for a UTF-8 file read line by line (see LineIndex)


@dataclass(frozen=True)
class LineIndex:
    """How many line ends (b"\\n") each BLOCK of a file holds, counted as the file was hashed, for
    a UTF-8 file that holds no quote and no carriage return: each of its lines is one row (see
    DelimitedFile._one_row_a_line), so a reader finds where any chunk begins by reading one
    block, not every line before it (two readers each read and split the whole file: 0.25 to
    0.31 s of each one's time for 226 MB)."""

    newlines: np.ndarray  # per block of `block` bytes
    block: int = BLOCK

    @cached_property
    def before(self) -> np.ndarray:
        """The line ends before each block, and (last) in the whole file."""
        return np.concatenate([[0], np.cumsum(self.newlines)])

    @property
    def total(self) -> int:
        return int(self.before[-1])

    def after(self, handle: BinaryIO, count: int) -> int:
        """Where the `count`-th line end (from 1) of the file is, plus one (`count` at most all)."""
        before = self.before
        block = int(np.searchsorted(before, count, side="left")) - 1  # before[block] < count <= before[block + 1]
        handle.seek(block * self.block)
        ends = np.flatnonzero(np.frombuffer(handle.read(self.block), dtype=np.uint8) == ord("\n"))
        return block * self.block + int(ends[count - int(before[block]) - 1]) + 1


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


def inspect_file(path: Path) -> FileFacts:
    """Hash the file and work out its encoding, streaming (UTF-8 files in one pass).

    A file that is not readable text still gets its hash; `problem` says why.
    """
    digest = hashlib.sha256()
    size = 0
    encoding: str | None = None
    problem: str | None = None
    utf8 = codecs.getincrementaldecoder("utf-8")("strict")
    newlines: list[int] = []
    plain = True  # no quote and no carriage return: every line one row (see LineIndex)
    with path.open("rb") as handle:
        while block := handle.read(BLOCK):
            if size == 0:
                encoding = _encoding_from_head(block)
            size += len(block)
            digest.update(block)
            plain = plain and b'"' not in block and b"\r" not in block
            if plain:
                newlines.append(int(np.count_nonzero(np.frombuffer(block, dtype=np.uint8) == ord("\n"))))
            if encoding is None and problem is None:
                if b"\x00" in block:
                    problem = "binary file (it contains NUL bytes): not a text report"
                elif utf8 is not None and (not block.isascii() or utf8.getstate()[0]):
                    # an ASCII block, with no sequence left open before it, decodes as it is:
                    # checked ten times faster than decoded (0.03 s against 0.14 s for 226 MB)
                    utf8 = _still_decodes(utf8, block, final=False)
    if size == 0:
        problem = "the file is empty"
    elif encoding is None and problem is None:
        if utf8 is not None and _still_decodes(utf8, b"", final=True) is not None:
            encoding = "utf-8"
        else:
            encoding = _legacy_encoding(path)
            problem = None if encoding else "cannot decode the file as UTF-8, UTF-16, Shift-JIS or cp1252"
    first_text = ""
    if encoding and not problem:
        with path.open("rb") as handle:
            first_text = handle.read(256).decode(encoding, errors="ignore")
    # an object, or a list of objects (Etsy's review pages saved together)
    looks_like_json = re.match(r"\ufeff?\s*(\{|\[\s*\{)", first_text) is not None
    # UTF-8 as the whole file decoded (a file with a byte-order mark is not checked here)
    lines = (
        LineIndex(np.array(newlines, dtype=np.int64), BLOCK) if plain and encoding == "utf-8" and not problem else None
    )
    return FileFacts(digest.hexdigest(), encoding or "", size, looks_like_json, problem, lines)


def _still_decodes(decoder, block: bytes, final: bool):
    try:
        decoder.decode(block, final)
    except UnicodeDecodeError:
        return None
    return decoder


def _legacy_encoding(path: Path) -> str | None:
    """Shift-JIS when the file decodes as such and holds Japanese text, else cp1252."""
    decoders = {name: codecs.getincrementaldecoder(name)("strict") for name in ("shift_jis", "cp1252")}
    japanese = False
    with path.open("rb") as handle:
        while True:
            block = handle.read(BLOCK)
            for name in list(decoders):
                try:
                    text = decoders[name].decode(block, not block)
                except UnicodeDecodeError:
                    del decoders[name]
                    continue
                if name == "shift_jis" and not japanese:
                    japanese = bool(_JAPANESE.search(text))
            if not block:
                break
    if "shift_jis" in decoders and (japanese or "cp1252" not in decoders):
        return "shift_jis"
    return "cp1252" if "cp1252" in decoders else None


def _encoding_from_head(block: bytes) -> str | None:
    if block.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if block.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return _utf16_without_bom(block)


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

    def take(self) -> tuple[int, list[str]]:
        """The first line number of the record just read, and its physical lines."""
        first = self.line_number - len(self.lines) + 1
        lines = list(self.lines)
        self.lines.clear()
        return first, lines


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
    best = max(counts, key=lambda d: counts[d])
    if counts[best] == 0:
        raise FileRejected("no header row with tab-, comma- or semicolon-separated columns")
    return best


class ColumnChunk:
    """Consecutive data rows of a file, one physical line each, held column by column as pyarrow
    splits them (its string arrays: no Python value per field), with the lines' bytes end to end
    and where each line ends in them: the row view and each row's text are made only when asked
    for (no object per line: splitting a block of 20,000 lines took 3.8 ms)."""

    def __init__(self, columns: list[pa.Array], line_numbers: Sequence[int], data: bytes, ends: np.ndarray) -> None:
        self.columns = columns
        self.line_numbers = line_numbers
        self.data = data  # the rows' lines, as in the file (UTF-8)
        self._ends = ends  # where each row's line ends in data (after its line end)
        self.errors: dict[int, str] = {}

    @classmethod
    def of_lines(cls, columns: list[pa.Array], line_numbers: Sequence[int], lines: list[bytes]) -> ColumnChunk:
        return cls(columns, line_numbers, b"".join(lines), np.cumsum([len(line) for line in lines], dtype=np.int64))

    def __len__(self) -> int:
        return len(self.line_numbers)

    @cached_property
    def fields(self) -> list[list[str]]:
        return [list(row) for row in zip(*(column.to_pylist() for column in self.columns), strict=True)]

    @property
    def text(self) -> str:
        return self.data.decode("utf-8")

    def raw(self, index: int) -> str:
        start = int(self._ends[index - 1]) if index else 0
        return self.data[start : int(self._ends[index])].decode("utf-8").rstrip("\r\n")


def _arrow_columns(block: bytes, width: int, delimiter: str, quoted: bool) -> list[pa.Array] | None:
    """Every line of `block` split into `width` text fields by pyarrow, or None when a line has
    another number of fields or the block is not valid UTF-8."""
    names = [f"f{i}" for i in range(width)]
    invalid = 0
    # With more than one CPU for pyarrow, its threads parse the block's halves at once; with one
    # (an import's forked readers, see importer._for_the_writer), this thread parses the block
    # whole: no thread of pyarrow's allocating in an arena of its own (reading 40 blocks of
    # 20,000 lines, a process grew by 82 MB that way, still growing, and by 35 MB, level, this way).
    threaded = pa.cpu_count() > 1

    def skip(_row) -> str:
        nonlocal invalid
        invalid += 1
        return "skip"

    try:
        table = pa_csv.read_csv(
            pa.py_buffer(block),
            read_options=pa_csv.ReadOptions(
                column_names=names,
                use_threads=threaded,
                block_size=max(len(block) // (2 if threaded else 1) + 1, 1 << 20),
            ),
            parse_options=pa_csv.ParseOptions(
                delimiter=delimiter,
                quote_char='"' if quoted else False,
                newlines_in_values=False,
                ignore_empty_lines=False,
                invalid_row_handler=skip,
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowException):
        return None
    if invalid:
        return None
    return [table.column(i).combine_chunks() for i in range(width)]


# every character str.strip() removes, for pyarrow's regular expressions (RE2)
_PY_SPACE = "\\t\\n\\x0b\\f\\r\\x1c-\\x1f \\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}"


def _blank_rows(columns: list[pa.Array]) -> np.ndarray:
    """Rows of nothing but white space: pyarrow finds the rows whose first field is white space
    alone (few), then each field of those is looked at as str.strip() sees it."""
    first = pc.match_substring_regex(columns[0], f"^[{_PY_SPACE}]*$")
    blank = first.to_numpy(zero_copy_only=False).astype(bool)
    for column in columns:
        candidates = np.flatnonzero(blank)
        if not len(candidates):
            break
        fields = column.take(pa.array(candidates)).to_pylist()
        blank[candidates] = np.fromiter((not v.strip() for v in fields), dtype=bool, count=len(candidates))
    return blank


@dataclass
class Chunk:
    """Consecutive data rows of a file: parallel lists, cheap to build for a million rows."""

    line_numbers: list[int]
    raws: list[str]  # each row's text as in the file (line ends included)
    fields: list[list[str]]
    errors: dict[int, str]  # row index -> why the line could not be split

    def __len__(self) -> int:
        return len(self.fields)

    def raw(self, index: int) -> str:
        return self.raws[index].rstrip("\r\n")

    @property
    def text(self) -> str:
        return "".join(self.raws)

    columns = None


@dataclass(frozen=True)
class Share:
    """Which chunks of a file one of several readers takes: every `readers`-th, from the `turn`-th."""

    turn: int = 0
    readers: int = 1

    def takes(self, place: int) -> bool:
        return place % self.readers == self.turn


WHOLE = Share()


class DelimitedFile:
    """The header and the rows of a comma- or tab-separated text file."""

    def __init__(
        self,
        path: Path,
        encoding: str,
        delimiter: str | None = None,
        quoted: bool | None = None,
        lines: LineIndex | None = None,
    ):
        self.path = path
        self.encoding = encoding
        self.lines = lines  # where its lines end (see LineIndex), if inspect_file found it plain
        first_line = self._first_line()
        self.delimiter = delimiter or sniff_delimiter(first_line)
        # Amazon's tab-separated flat files are not quoted: a product name may hold a
        # bare '"'. Quote handling stays on for comma-separated files and for
        # tab-separated ones whose header is quoted (spreadsheet exports).
        if quoted is None:
            quoted = self.delimiter != "\t" or first_line.lstrip("\ufeff").startswith('"')
        self.quoting: Literal[0, 3] = csv.QUOTE_MINIMAL if quoted else csv.QUOTE_NONE
        self.header, self._header_lines = self._read_header()

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

    def _reader(self, lines):
        return csv.reader(lines, delimiter=self.delimiter, quoting=self.quoting, strict=False)

    def _read_header(self) -> tuple[list[str], int]:
        with self._open() as handle:
            tap = _LineTap(handle)
            try:
                for fields in self._reader(tap):
                    if any(f.strip() for f in fields):
                        if len(fields) > MAX_COLUMNS:
                            raise FileRejected(
                                f"the header has {len(fields)} columns, more than {MAX_COLUMNS}: not a report"
                            )
                        return [f.strip().lstrip("\ufeff").strip() for f in fields], tap.line_number
            except csv.Error as exc:
                raise FileRejected(f"cannot read the header row: {exc}") from None
        raise FileRejected("the file has no header row")

    def chunks(self, size: int, share: Share = WHOLE) -> Iterator[Chunk | ColumnChunk]:
        """Data rows after the header, about `size` at a time; blank lines are skipped (a chunk
        may be empty).

        UTF-8 files are split by pyarrow, a block of lines at a time, as long as every line is
        one row (no quoted field spans lines, no line is blank and none has a stray field): it
        reads about ten times faster than Python's csv module, in its own threads, and gives
        each row the same fields. A block it cannot split that way is split by the csv module;
        when a quoted field may span lines, the rest of the file is.

        With a `share`, only that share's chunks are split and yielded: the other chunks are
        read, to find where each chunk begins (their line ends counted, see _line_blocks), but
        not split. Every share of a file agrees on its chunks, so that readers in several
        processes can each take one share."""
        if self.encoding.replace("-sig", "") != "utf-8":
            yield from self._text_chunks(size, 0, 0, share)
            return
        with self.path.open("rb") as handle:
            head = [handle.readline() for _ in range(self._header_lines)]
            if any(line.count(b"\r") != line.count(b"\r\n") for line in head):  # lines end in a lone \r
                yield from self._text_chunks(size, 0, 0, share)
                return
            offset = sum(map(len, head))
            line_number = self._header_lines
            if self.lines is not None and self.encoding == "utf-8":
                yield from self._indexed_chunks(handle, self.lines, size, share, offset, line_number)
                return
            for place, (block, ends) in enumerate(_line_blocks(handle, size)):
                if not self._one_row_a_line(block):  # the rest of the file, record by record
                    yield from self._text_chunks(size, offset, line_number, share, place)
                    return
                if share.takes(place):
                    yield self._block_chunk(block, ends, line_number + 1)
                offset += len(block)
                line_number += len(ends)
                del block  # before the next block is read: never two in memory at once

    def _indexed_chunks(
        self, handle: BinaryIO, lines: LineIndex, size: int, share: Share, offset: int, header: int
    ) -> Iterator[Chunk | ColumnChunk]:
        """The chunks `chunks` makes, of a file whose line ends are indexed (see LineIndex): each
        share reads only its own chunks, found by the index, and skips the others unread."""
        total, end_of_file = lines.total, handle.seek(0, io.SEEK_END)
        place, first, start = 0, header, offset  # the chunk's place, its first line (from 0), its first byte
        while start < end_of_file:
            last = first + size  # the chunk ends with the last-th line end, or with the file
            end = lines.after(handle, last) if last <= total else end_of_file
            if share.takes(place):
                handle.seek(start)
                block = handle.read(end - start)
                ends = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == ord("\n")) + 1
                if not block.endswith(b"\n"):  # the file's last line, without its end
                    ends = np.append(ends, len(block))
                yield self._block_chunk(block, ends, first + 1)
                del block  # before the next block is read: never two in memory at once
            place, first, start = place + 1, last, end

    def _one_row_a_line(self, block: bytes) -> bool:
        """Can a block of whole lines be split line by line? Not when a record may span lines,
        nor when it is not valid UTF-8 (the csv module then rejects the file where it fails).
        Checked without splitting it: every share of a file must get the same answer."""
        if b"\r" in block and block.count(b"\r") != block.count(b"\r\n"):  # a lone \r ends a line for the csv module
            return False
        if (
            self.quoting != csv.QUOTE_NONE
            and b'"' in block
            and any(line.count(b'"') % 2 for line in block.split(b"\n"))
        ):
            return False  # a quoted field with a line break, or a stray quote: the csv module decides
        try:
            return block.isascii() or bool(block.decode("utf-8"))  # pyarrow refuses what does not decode
        except UnicodeDecodeError:
            return False

    def _block_chunk(self, block: bytes, ends: np.ndarray, first: int) -> Chunk | ColumnChunk:
        """The rows of a block of whole lines (each ending at its place in `ends`), one row a line
        (see _one_row_a_line)."""
        quoted = self.quoting != csv.QUOTE_NONE
        # a field too long for the csv module makes a bad row
        long = int(np.diff(ends, prepend=0).max()) > MAX_FIELD_CHARS
        columns = None if long else _arrow_columns(block, len(self.header), self.delimiter, quoted)
        if columns is None or len(columns[0]) != len(ends):  # a blank line, a row of other width
            return self._split([line.decode("utf-8") for line in block.splitlines(keepends=True)], first)
        if not quoted and b'"' in block:
            columns = [pa.array([_unwrap(f) for f in column.to_pylist()], pa.string()) for column in columns]
        blank = _blank_rows(columns)
        if blank.any():  # lines of nothing but white space and delimiters
            keep = np.flatnonzero(~blank)
            taken = [c.take(pa.array(keep)) for c in columns]
            lines = block.splitlines(keepends=True)
            return ColumnChunk.of_lines(taken, [first + int(i) for i in keep], [lines[i] for i in keep])
        return ColumnChunk(columns, range(first, first + len(ends)), block, ends)

    def _text_chunks(
        self, size: int, offset: int, line_number: int, share: Share = WHOLE, place: int = 0
    ) -> Iterator[Chunk]:
        """Rows read by the csv module from byte `offset` (after `line_number` lines) on, the
        first chunk's `place` in the file being `place`; of a `share`, only its chunks are split."""
        with self.path.open("rb") as raw:
            raw.seek(offset)
            encoding = "utf-8" if offset and self.encoding == "utf-8-sig" else self.encoding
            handle = io.TextIOWrapper(raw, encoding=encoding, newline="")
            lines = _TextLines(handle)
            if not offset:
                for _ in range(self._header_lines):
                    next(lines)
            lines.line_number = max(lines.line_number, line_number)
            while batch := lines.take(size):
                if self.quoting != csv.QUOTE_NONE:
                    batch += self._rest_of_quoted_field(batch, lines)
                if share.takes(place):
                    yield self._split(batch, lines.line_number - len(batch) + 1)
                place += 1
                del batch  # before the next batch is read: never two in memory at once

    @staticmethod
    def _rest_of_quoted_field(batch: list[str], lines: _TextLines) -> list[str]:
        """A quoted field may hold a line break: never end a batch inside one."""
        quotes = "".join(batch).count('"')
        extra: list[str] = []
        while quotes % 2 and len(extra) < MAX_FIELD_LINES and (more := lines.take(1)):
            extra += more
            quotes += more[0].count('"')
        return extra

    def _split(self, batch: list[str], first: int) -> Chunk:
        try:
            parsed = list(self._reader(batch))
        except csv.Error:
            parsed = []
        if len(parsed) != len(batch):  # a line break inside a field, or a line csv cannot split
            return self._split_slowly(batch, first)
        keep = [i for i, fields in enumerate(parsed) if not _blank(fields)]
        if len(keep) < len(batch):
            batch, parsed = [batch[i] for i in keep], [parsed[i] for i in keep]
        if self.quoting == csv.QUOTE_NONE:
            for i, line in enumerate(batch):
                if '"' in line:
                    parsed[i] = [_unwrap(f) for f in parsed[i]]
        return Chunk([first + i for i in keep], batch, parsed, {})

    def _split_slowly(self, batch: list[str], first: int) -> Chunk:
        """Record by record: a line csv cannot split is a bad row of its own, and a record that
        spans several lines (a quoted field with line breaks) but has the wrong number of fields,
        or whose quote never closes, was made by a stray quote: its lines are read again one by
        one, so the good rows among them are not lost with it."""
        tap = _LineTap(iter(batch))
        tap.line_number = first - 1
        reader = self._reader(tap)
        chunk = Chunk([], [], [], {})
        while True:
            error = None
            try:
                fields = next(reader)
            except StopIteration:
                return chunk
            except csv.Error as exc:
                error, fields = f"cannot split the line: {exc}", []
            line_number, lines = tap.take()
            if error is None and len(lines) > 1 and (len(fields) != len(self.header) or _unclosed(lines)):
                for offset, line in enumerate(lines):
                    self._add(chunk, line_number + offset, line, *self._one_line(line))
                continue
            self._add(chunk, line_number, "".join(lines), fields, error)

    def _one_line(self, line: str) -> tuple[list[str], str | None]:
        try:
            return next(self._reader([line]), []), None
        except csv.Error as exc:
            return [], f"cannot split the line: {exc}"

    @staticmethod
    def _add(chunk: Chunk, line_number: int, raw: str, fields: list[str], error: str | None) -> None:
        if error is None and _blank(fields):
            return
        if error is not None:
            chunk.errors[len(chunk.fields)] = error
        chunk.line_numbers.append(line_number)
        chunk.raws.append(raw)
        chunk.fields.append(fields)


def _line_blocks(handle: BinaryIO, size: int) -> Iterator[tuple[bytes, np.ndarray]]:
    """The rest of a file opened in binary, as blocks of `size` whole lines (the last may hold
    fewer), each with where each of its lines ends in it (after its line end). A line ends after
    b"\\n", as iterating the file ends it; the line ends are found by numpy a megabyte at a
    time, and no line is made an object of its own (a reader skips half the blocks: a million
    lines took 0.5 s of making)."""
    buffer = bytearray()
    ends = np.zeros(0, dtype=np.int64)  # where each line found in buffer ends (after its b"\\n")
    while True:
        while len(ends) < size and (piece := handle.read(BLOCK)):
            found = np.flatnonzero(np.frombuffer(piece, dtype=np.uint8) == ord("\n")) + (len(buffer) + 1)
            buffer += piece
            ends = np.concatenate([ends, found])
        if len(ends) >= size:
            cut, count, line_ends = int(ends[size - 1]), size, ends[:size]
        elif buffer:  # the end of the file: the last line may have no line end
            cut, count = len(buffer), len(ends)
            line_ends = ends if buffer.endswith(b"\n") else np.append(ends, len(buffer))
        else:
            return
        yield bytes(memoryview(buffer)[:cut]), line_ends  # one copy (a bytearray's slice would be a second)
        del buffer[:cut]
        ends = ends[count:] - cut


def _unclosed(lines: list[str]) -> bool:
    """An odd number of quotes: a quote opened and never closed (doubled quotes come in pairs)."""
    return sum(line.count('"') for line in lines) % 2 == 1


def _blank(fields: list[str]) -> bool:
    """A line of nothing but white space and delimiters is a blank line, skipped."""
    return not any(f.strip() for f in fields)


class _TextLines:
    """Lines of a text file, counted; decoding errors reject the file."""

    def __init__(self, handle) -> None:
        self._handle = handle
        self.line_number = 0

    def __next__(self) -> str:
        return self.take(1)[0]

    def take(self, count: int) -> list[str]:
        try:
            lines = list(itertools.islice(self._handle, count))
        except UnicodeDecodeError as exc:
            raise FileRejected(f"the file is not valid {exc.encoding} at byte {exc.start}") from None
        self.line_number += len(lines)
        return lines
