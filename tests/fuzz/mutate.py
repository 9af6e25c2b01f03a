"""Mutations of seed files, as a broken export or an attacker would make them.

`mutant(i, base)` is the i-th input of a run: a seed with one to three mutations, all drawn
from a generator seeded by (base, i), so any input can be made again from its number.
"""

from __future__ import annotations

import codecs
import json
import random
from collections.abc import Callable

from tests.fuzz.seeds import seeds

Mutation = Callable[[bytes, random.Random], bytes]

ODD_DATES = (
    "9999-12-31T23:59:59-01:00",
    "10000-01-01T00:00:00Z",
    "0001-01-01T00:00:00Z",
    "1900-01-01",
    "1969-12-31T23:59:59Z",
    "2101-01-01T00:00:00Z",
    "2026-02-30",
    "2026-13-01",
    "26/10/2026",
    "2026-10-01T25:61:00",
    "2026-10-01T10:00:00+99:00",
    "1e10",
    "NaT",
    "-2026-10-01",
    "2026-10-01 10:00:00 PDT",
    "2026-10-01T10:00:00.123456789Z",
)
ODD_NUMBERS = (
    "NaN",
    "nan",
    "inf",
    "-Infinity",
    "1e309",
    "-1e309",
    str(10**30),
    str(-(10**30)),
    "9223372036854775808",
    "-1",
    "0",
    "1,000,000",
    "1.5",
    "12",
    "0x10",
    "１２",
    "1_000",
    "",
)
ODD_TEXT = (
    '=cmd|" /C calc"!A0',
    "+SUM(A1:A9)",
    '@HYPERLINK("http://x")',
    "\x1b]0;PWNED\x07\x1b[2J",
    "<script>alert(1)</script>",
    "line\nbreak",
    'a "quoted" word',
    '"',
    "\u202eevil\u202c",
    "\x00",
    "\t",
    "’“”",
    "🙂" * 50,
)


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="surrogateescape")


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", errors="surrogateescape")


def _lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True)


def byte_flips(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 20)):
        if out:
            out[rng.randrange(len(out))] = rng.randrange(256)
    return bytes(out)


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(len(data) + 1)]


def duplicate_lines(data: bytes, rng: random.Random) -> bytes:
    lines = _lines(data)
    for _ in range(rng.randint(1, 10)):
        if lines:
            i = rng.randrange(len(lines))
            lines.insert(rng.randrange(len(lines) + 1), lines[i])
    return b"".join(lines)


def shuffle_lines(data: bytes, rng: random.Random) -> bytes:
    lines = _lines(data)
    rng.shuffle(lines)
    return b"".join(lines)


def drop_lines(data: bytes, rng: random.Random) -> bytes:
    lines = _lines(data)
    return b"".join(line for line in lines if rng.random() > 0.3)


def reencode(data: bytes, rng: random.Random) -> bytes:
    encoding = rng.choice(("utf-16", "utf-16-le", "utf-16-be", "cp1252", "shift_jis", "latin-1", "utf-32"))
    return _text(data).encode(encoding, errors="replace")


def boms(data: bytes, rng: random.Random) -> bytes:
    bom = rng.choice((codecs.BOM_UTF8, codecs.BOM_UTF8 * 2, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32))
    return bom + data


def line_ends(data: bytes, rng: random.Random) -> bytes:
    end = rng.choice((b"\r\n", b"\r", b"\n\n", b"\r\r\n", b"\x85", "\u2028".encode()))
    return data.replace(b"\n", end)


def nul_bytes(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 5)):
        out.insert(rng.randrange(len(out) + 1), 0)
    return bytes(out)


def _replace_field(data: bytes, rng: random.Random, value: str, count: int = 1) -> bytes:
    text = _text(data)
    lines = text.split("\n")
    if len(lines) < 2:
        return _bytes(text + value)
    delimiter = "\t" if lines[0].count("\t") >= lines[0].count(",") else ","
    for _ in range(count):
        i = rng.randrange(1, len(lines))
        fields = lines[i].split(delimiter)
        if fields:
            fields[rng.randrange(len(fields))] = value
            lines[i] = delimiter.join(fields)
    return _bytes("\n".join(lines))


def huge_field(data: bytes, rng: random.Random) -> bytes:
    size = rng.choice((70_000, 140_000, 1_100_000))
    return _replace_field(data, rng, rng.choice(("x", "a@", "a.b", "é", '"')) * (size // 2))


def many_columns(data: bytes, rng: random.Random) -> bytes:
    width = rng.choice((1_500, 10_000))
    lines = _text(data).split("\n")
    delimiter = "\t" if lines[0].count("\t") >= lines[0].count(",") else ","
    extra = delimiter.join(f"c{n}" for n in range(width))
    filler = delimiter.join("v" for _ in range(width))
    out = [lines[0] + delimiter + extra] + [line + delimiter + filler if line else line for line in lines[1:]]
    return _bytes("\n".join(out))


def odd_dates(data: bytes, rng: random.Random) -> bytes:
    return _replace_field(data, rng, rng.choice(ODD_DATES), rng.randint(1, 5))


def odd_numbers(data: bytes, rng: random.Random) -> bytes:
    return _replace_field(data, rng, rng.choice(ODD_NUMBERS), rng.randint(1, 5))


def odd_text(data: bytes, rng: random.Random) -> bytes:
    return _replace_field(data, rng, rng.choice(ODD_TEXT), rng.randint(1, 5))


def whole_amounts(data: bytes, rng: random.Random) -> bytes:
    """Every amount a whole number (yen, rupees)."""
    text = _text(data)
    import re

    return _bytes(re.sub(r"(\d+)\.\d\d\b", r"\1", text))


def stray_quote(data: bytes, rng: random.Random) -> bytes:
    text = _text(data)
    if not text:
        return b'"'
    i = rng.randrange(len(text))
    return _bytes(text[:i] + '"' + text[i:])


def header_twice(data: bytes, rng: random.Random) -> bytes:
    lines = _text(data).split("\n")
    delimiter = "\t" if lines[0].count("\t") >= lines[0].count(",") else ","
    names = lines[0].split(delimiter)
    if len(names) > 1:
        i, j = rng.sample(range(len(names)), 2)
        names[j] = names[i]
    lines[0] = delimiter.join(names)
    return _bytes("\n".join(lines))


def drop_column(data: bytes, rng: random.Random) -> bytes:
    lines = _text(data).split("\n")
    delimiter = "\t" if lines[0].count("\t") >= lines[0].count(",") else ","
    width = len(lines[0].split(delimiter))
    k = rng.randrange(width)
    out = []
    for line in lines:
        fields = line.split(delimiter)
        out.append(delimiter.join(f for n, f in enumerate(fields) if n != k))
    return _bytes("\n".join(out))


def header_only(data: bytes, rng: random.Random) -> bytes:
    return _lines(data)[0] if data else b""


def empty(data: bytes, rng: random.Random) -> bytes:
    return rng.choice((b"", b"\n", b"   \n\n", b"\xef\xbb\xbf"))


def long_line(data: bytes, rng: random.Random) -> bytes:
    return data + b"z" * rng.choice((200_000, 2_000_000)) + b"\n"


def control_characters(data: bytes, rng: random.Random) -> bytes:
    return _replace_field(data, rng, "".join(chr(rng.randrange(32)) for _ in range(20)), 3)


# ------------------------------------------------------------------ JSON
def _json(data: bytes):
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return None


def deep_json(data: bytes, rng: random.Random) -> bytes:
    depth = rng.choice((100, 1_000, 100_000))
    inner = '{"a":' * depth + "1" + "}" * depth
    if rng.random() < 0.5:
        return _bytes('{"performanceMetrics": [' + inner + "]}")
    return _bytes("[" * depth + "]" * depth)


def _swap(value, rng: random.Random):
    if isinstance(value, dict) and value:
        key = rng.choice(list(value))
        if rng.random() < 0.4:
            value[key] = _odd_json(rng)
        else:
            _swap(value[key], rng)
    elif isinstance(value, list) and value:
        i = rng.randrange(len(value))
        if rng.random() < 0.4:
            value[i] = _odd_json(rng)
        else:
            _swap(value[i], rng)
    return value


def _odd_json(rng: random.Random):
    return rng.choice(
        (
            None,
            [],
            {},
            [1, 2],
            {"x": {"y": [None]}},
            10**30,
            -(10**30),
            float("nan"),
            float("inf"),
            -1,
            True,
            "",
            "x" * 100_000,
            "9999-12-31T23:59:59-01:00",
            "0001-01-01T00:00:00Z",
            ["ATVPDKIKX0DER"],
            {"marketplaceId": "A1PA6795UKMFR9"},
            "=HYPERLINK(1)",
        )
    )


def json_shapes(data: bytes, rng: random.Random) -> bytes:
    document = _json(data)
    if document is None:
        return data + b"}"
    for _ in range(rng.randint(1, 6)):
        _swap(document, rng)
    return _bytes(json.dumps(document))


def json_many_entries(data: bytes, rng: random.Random) -> bytes:
    document = _json(data)
    if not isinstance(document, dict) or not isinstance(document.get("performanceMetrics"), list):
        return data
    factor = rng.choice((2, 50, 2_000))
    while factor > 1 and len(data) * factor > 60_000_000:  # past the 50 MB limit, not past memory
        factor //= 2
    document["performanceMetrics"] = document["performanceMetrics"] * factor
    return _bytes(json.dumps(document))


TEXT_MUTATIONS: tuple[Mutation, ...] = (
    byte_flips,
    truncate,
    duplicate_lines,
    shuffle_lines,
    drop_lines,
    reencode,
    boms,
    line_ends,
    nul_bytes,
    huge_field,
    many_columns,
    odd_dates,
    odd_dates,
    odd_numbers,
    odd_numbers,
    odd_text,
    whole_amounts,
    stray_quote,
    stray_quote,
    header_twice,
    drop_column,
    header_only,
    empty,
    long_line,
    control_characters,
)
JSON_MUTATIONS: tuple[Mutation, ...] = (
    byte_flips,
    truncate,
    reencode,
    boms,
    nul_bytes,
    deep_json,
    json_shapes,
    json_shapes,
    json_shapes,
    json_many_entries,
    empty,
)
SEEDS = seeds()


def mutant(index: int, base: int = 0) -> tuple[str, bytes, list[str]]:
    """The `index`-th input of run `base`: (file name, content, the mutations applied)."""
    rng = random.Random(base * 1_000_003 + index)
    name, data = SEEDS[rng.randrange(len(SEEDS))]
    pool = JSON_MUTATIONS if name.endswith(".json") else TEXT_MUTATIONS
    applied = []
    for _ in range(rng.choice((1, 1, 2, 3))):
        mutation = rng.choice(pool)
        data = mutation(data, rng)
        applied.append(mutation.__name__)
    return f"{index:06d}-{name}", data, applied
