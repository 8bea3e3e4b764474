"""Load CSV log files (plain or gzipped) into the warehouse, one batch per file.

    python -m api_trust.ingest FILE [FILE ...]        (make load FILES="a.csv b.csv.gz")

Every file goes through the raw landing contract (macros/create_raw_landing_tables.sql)
in one transaction: its records land as text in raw.api_calls (a Parquet file of
the batch, read through that view: api_trust.landing) with their lineage,
the records the CSV reader refused land in raw.load_rejects, and raw.load_batches /
raw.load_batch_columns say what arrived. A problem with one file rolls back that
file only; earlier files and batches are never touched.

Why it works the way it does:

- Idempotent by content. The batch id is `file_` + the first 12 hex digits of the
  sha256 of the decompressed bytes, so `a.csv` and `a.csv.gz` are the same batch
  and a second `make load` of either is a skip, not a double count. The hash is
  stored as `sha256:<hex>` in raw.load_batches.content_hash (the generator's
  batches say `params:<hex>`).
- Two independent counts. Python's csv module counts the file's records (BOM,
  CRLF and quoted newlines handled; blank lines are not records) before DuckDB
  reads it. DuckDB's reader (`read_csv`, all text, strict mode, rejects stored)
  then says how many records landed and how many it rejected. If landed +
  rejected differs from the Python count the batch is still recorded, with a
  warning, so dbt's reconciliation test fails loudly instead of the loss being
  silent.
- Python's count is the truth. Both readers use the same dialect (`,`, `"`,
  `""` escapes), and on the hard case they agree: an unterminated quote makes
  Python read to the end of the file (or to the next quote character) as one
  record, and makes DuckDB (in strict mode) reject that same stretch as one
  "unterminated quote" record, so the records before it land, the broken stretch
  is one reject, both resume after it, and the counts reconcile. A one-column file is the one place where a blank line is a
  record (an empty value), because that is what DuckDB reads.
- Record numbers are positions in the file. DuckDB does not give a row's line
  number, only its order (`WITH ORDINALITY`) and, for rejects, the line on which
  the record starts counted in unquoted line breaks. The Python pass records,
  sparsely, where blank lines and multi-line records shift line numbers against
  record numbers; that maps each reject to its record number and its physical
  line (what an editor shows), and the k-th landed row to the k-th record that
  was not rejected. If the two readers disagree on record boundaries (counts do
  not reconcile), record numbers fall back to the reader's order and reject lines
  to DuckDB's own numbering, and the warning says so.
- Columns as delivered. Header names are trimmed and lower-cased and kept as
  they are (`latency` stays `latency`; dbt staging maps aliases). Unknown extra
  columns are added to raw.api_calls as text. A file with none of the known
  names or aliases is refused: it is not an API call log.
- Types are sniffed from a sample (the first 2,000 landed records), per column
  the narrowest of BIGINT, DOUBLE, TIMESTAMP, BOOLEAN that at least 95% of the
  non-empty values parse as, else VARCHAR; a few dirty values do not read as a
  type change, while epoch-millisecond timestamps read as BIGINT.
- Limits: comma-separated UTF-8 only; DuckDB's strict reader refuses a file that
  mixes CRLF and LF row endings (the error says so and how to fix it).
"""

from __future__ import annotations

import argparse
import bisect
import codecs
import collections
import csv
import gzip
import hashlib
import io
import itertools
import json
import re
import sys
import tempfile
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import BinaryIO

import duckdb

from api_trust.contract import (
    LINEAGE_COLUMNS,
    contract_target,
    db_path,
    log_columns,
    project_vars,
)
from api_trust.landing import drop_batch, quote_ident, sql_literal, sql_row, sql_value, write_part
from api_trust.pii import mask_column_sql, mask_text_sql, pii_key, row_has_pii_sql
from api_trust.readers import (
    LINE_MAX_BYTES,
    LINE_READERS,
    Shape,
    ShapedRead,
    detect_prefix,
    detect_shape,
    json_document,
    known_shapes_text,
    read_json_document,
    read_shape_lines,
    read_shaped,
    shapes,
)
from api_trust.warehouse import connect, ensure_raw_tables, names_from_env, run_cli

SNIFF_SAMPLE_RECORDS = 2000
SNIFF_MAJORITY = 0.95
# Narrowest first: the first type that enough values parse as wins.
TYPE_LADDER = ("BIGINT", "DOUBLE", "TIMESTAMP", "BOOLEAN")
# a digest spelt in letters (digits as g-p), as every id derived from one here is
DIGITS_AS_LETTERS = str.maketrans("0123456789", "ghijklmnop")
GZIP_MAGIC = b"\x1f\x8b"
READ_CHUNK = 1 << 20
# DuckDB's default is 2 MB; a longer line is refused with an error naming this limit.
MAX_LINE_BYTES = 8 << 20
_temp_names = itertools.count(1)


class FileError(Exception):
    """A problem with one input file that the user can fix; printed as `error: <file>: <msg>`."""


# --------------------------------------------------------------------------- counting


@dataclass(frozen=True)
class Segment:
    """From record `first_record` on, line = record number + offset (until the next segment).

    Only blank lines and records spanning several physical lines change the offsets, so
    a file needs a handful of these, not one entry per record.
    """

    first_record: int
    reader_offset: int  # DuckDB's line (unquoted line breaks + 1) minus the record number
    physical_offset: int  # physical line (what an editor shows) minus the record number


@dataclass(frozen=True)
class DroppedLine:
    """A physical line that opened a quote which swallowed the lines after it (see profile_csv)."""

    record_no: int
    physical_line: int
    text: str


@dataclass(frozen=True)
class CsvProfile:
    """What Python's csv module sees in a file: the header, its records and its lines.

    `header` is empty when the file has no non-blank row at all. Line counts are of
    physical lines (what an editor numbers), so that every line of the file can be
    accounted for: header_lines + blank_lines + record_lines == line_count.
    """

    header: tuple[str, ...]
    leading_blank_lines: int
    record_count: int
    segments: tuple[Segment, ...] = ()
    line_endings: frozenset[str] = frozenset()  # how rows end: "\n", "\r\n", "\r"
    line_count: int = 0
    header_lines: int = 0  # the header row and the blank lines before it
    blank_lines: int = 0  # blank lines after the header (not records)
    record_lines: int = 0  # lines spanned by records, dropped lines included
    multi_line_spans: Mapping[int, int] = field(default_factory=dict)  # record no -> lines (> 1)
    dropped: tuple[DroppedLine, ...] = ()

    @cached_property
    def _segment_starts(self) -> list[int]:
        return [s.first_record + s.reader_offset for s in self.segments]

    def locate(self, reader_line: int) -> tuple[int, int] | None:
        """(record number, physical line) of the record DuckDB reports on `reader_line`.

        None when no record starts on that line (the readers disagree on boundaries).
        """
        i = bisect.bisect_right(self._segment_starts, reader_line) - 1
        if i < 0:
            return None
        seg = self.segments[i]
        record = reader_line - seg.reader_offset
        end = self.segments[i + 1].first_record if i + 1 < len(self.segments) else None
        if record > self.record_count or (end is not None and record >= end):
            return None
        if any(d.record_no == record for d in self.dropped):
            return None
        return record, record + seg.physical_offset

    def lines_of(self, record_no: int) -> int:
        return self.multi_line_spans.get(record_no, 1)


class _Swallowed(Exception):
    """Raised from inside the csv reader when an open quote runs over record-like lines."""


class _LineFeed:
    """The physical lines of a file for csv.reader, numbered, with push-back.

    While the reader is inside a quoted field (it asks for another line before it has
    finished a record), a line that looks like a record of its own (as many commas as
    the header has separators) or a field that has run over `max_record_lines` lines
    means an unbalanced quote is swallowing records: the feed raises _Swallowed so the
    profiler can drop the line that opened the quote and read on from the next one.
    """

    def __init__(self, lines: Iterable[str], max_record_lines: int, delimiter: str = ",") -> None:
        self.delimiter = delimiter
        self._source = iter(lines)
        self._pending: collections.deque[tuple[int, str]] = collections.deque()
        self._next_no = 1
        self.taken: list[tuple[int, str]] = []
        self.min_commas = 0  # set once the header is known; 0 = no record-like check
        self.max_record_lines = max_record_lines

    def __iter__(self) -> _LineFeed:
        return self

    def __next__(self) -> str:
        if self._pending:
            no, line = self._pending.popleft()
        else:
            line = next(self._source)
            no = self._next_no
            self._next_no += 1
        if self.taken and (
            len(self.taken) >= self.max_record_lines
            or (self.min_commas and line.count(self.delimiter) >= self.min_commas)
        ):
            self._pending.appendleft((no, line))
            raise _Swallowed
        self.taken.append((no, line))
        return line

    def push_back(self, lines: Sequence[tuple[int, str]]) -> None:
        self._pending.extendleft(reversed(lines))

    @property
    def lines_read(self) -> int:
        return self._next_no - 1


def _ending(line: str) -> str:
    if line.endswith("\r\n"):
        return "\r\n"
    return line[-1:] if line[-1:] in ("\r", "\n") else ""


def profile_csv(
    lines: Iterable[str], max_record_lines: int = 50, delimiter: str = ","
) -> CsvProfile:
    """Count the data records and physical lines in CSV text lines (newlines kept).

    Blank lines are not records (DuckDB skips them too) except in a one-column file,
    where a blank line is an empty value. Records are counted after the header, which
    is the first non-blank row. A line whose unbalanced quote would swallow the records
    after it is dropped (kept in `dropped`, counted as a record that the loader
    rejects) and reading resumes on the next line, so one stray quote costs one record.
    """
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    feed = _LineFeed(lines, max_record_lines, delimiter)
    reader = csv.reader(feed, delimiter=delimiter)
    header: tuple[str, ...] | None = None
    leading = header_lines = blank = record_lines = 0
    count = 0
    rows = 0  # rows as DuckDB numbers them: header, blank lines and records
    segments: list[Segment] = []
    spans: dict[int, int] = {}
    dropped: list[DroppedLine] = []
    endings: set[str] = set()
    while True:
        feed.taken = []
        try:
            row = next(reader)
        except StopIteration:
            break
        except _Swallowed:
            first, rest = feed.taken[0], feed.taken[1:]
            count += 1
            record_lines += 1
            dropped.append(DroppedLine(count, first[0], first[1].rstrip("\r\n")))
            feed.push_back(rest)
            reader = csv.reader(feed, delimiter=delimiter)
            continue
        rows += 1
        start, span = feed.taken[0][0], len(feed.taken)
        endings.add(_ending(feed.taken[-1][1]))
        if header is None:
            header_lines += span
            if row:
                header = tuple(row)
                feed.min_commas = len(header) - 1 if len(header) > 2 else 0
            else:
                leading += 1
            continue
        if not row and len(header) != 1:
            blank += span
            continue
        count += 1
        record_lines += span
        if span > 1:
            spans[count] = span
        offsets = (rows - count, start - count)
        if not segments or (segments[-1].reader_offset, segments[-1].physical_offset) != offsets:
            segments.append(Segment(count, *offsets))
    endings.discard("")
    return CsvProfile(
        header or (), leading, count, tuple(segments), frozenset(endings),
        line_count=feed.lines_read, header_lines=header_lines, blank_lines=blank,
        record_lines=record_lines, multi_line_spans=spans, dropped=tuple(dropped),
    )  # fmt: skip


# --------------------------------------------------------------------------- reading


class _HashingReader(io.RawIOBase):
    """Passes bytes through while hashing them and refusing NUL bytes (binary files)."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.sha = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._raw.read(len(buffer))
        if self.size == 0 and data[:2] in (b"\xff\xfe", b"\xfe\xff"):
            raise FileError("is UTF-16 text: re-export it as UTF-8 CSV")
        nul = data.find(b"\x00")
        if nul >= 0:
            raise FileError(
                f"contains a NUL byte at byte {self.size + nul:,}: binary data, not a CSV text "
                "file; check that this is the log export"
            )
        self.sha.update(data)
        self.size += len(data)
        buffer[: len(data)] = data
        return len(data)


@dataclass(frozen=True)
class Source:
    """One input file as read by Python: identity, shape and independent counts."""

    path: Path
    content_hash: str  # sha256 of the decompressed bytes
    gzipped: bool
    profile: CsvProfile  # CSV shapes only (empty otherwise)
    shape: Shape
    delimiter: str = ","
    line_count: int | None = None  # physical lines, counted by Python (text shapes)
    date_order: str | None = None  # `--date-order`: how its dates written as numbers read

    @property
    def batch_id(self) -> str:
        # letters only (digits as g-p), as every id derived from a digest here: a hex prefix's
        # digit run can read as a phone or an Aadhaar number (7066917456), and the personal-data
        # tests then failed every build while the batch stayed (about 1 file in 80)
        return "file_" + self.content_hash[:12].translate(DIGITS_AS_LETTERS)

    @property
    def source_format(self) -> str:
        kind = {"csv": "tsv" if self.delimiter == "\t" else "csv"}.get(self.shape.reader,
                                                                         self.shape.name)  # fmt: skip
        return f"{kind}.gz" if self.gzipped else kind

    @property
    def decimal_mark(self) -> str:
        # a CSV split at `;` comes from a spreadsheet whose decimal mark is the comma (which
        # is why it is not split at commas): staging reads its `120,5` as 120.5
        return "," if self.delimiter == ";" and self.shape.reader == "csv" else "."


def _count_lines(raw: io.RawIOBase) -> int:
    """Physical lines of a line-shaped file, counted in bytes (no parsing), UTF-8 checked.

    A line is what ends in a line feed, plus a last line without one: what an editor
    numbers, and what DuckDB's line reader returns (blank lines included).
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines, last = 0, b"\n"
    while chunk := raw.read(READ_CHUNK):
        # an ASCII chunk after a complete character is valid UTF-8: checking that is about
        # 5x cheaper than decoding it (0.025 against 0.13 s for 243 MB of JSON lines)
        if decoder.getstate()[0] or not chunk.isascii():
            decoder.decode(chunk)
        lines += chunk.count(b"\n")
        last = chunk[-1:]
    decoder.decode(b"", final=True)
    return lines + (last != b"\n")


# How far the first line is read to sniff a file's shape when it is longer than the head:
# one OTLP export request (the Collector's file exporter) is one line of every span of the
# request, often several MB, and its shape shows only in the whole line (cut at the head,
# it read as a JSON document of `resourceSpans` and no field mapped).
FIRST_LINE_MAX = LINE_MAX_BYTES


def _peek(path: Path, gzipped: bool) -> tuple[bytes, str]:
    """The first bytes of the (decompressed) file and its first non-blank line (read on
    past those bytes to its end, up to FIRST_LINE_MAX), for sniffing."""
    head_size, more = 1 << 16, []
    try:
        with gzip.open(path, "rb") if gzipped else open(path, "rb") as fh:
            head = fh.read(head_size)
            if len(head) == head_size and b"\n" not in head.lstrip(b"\xef\xbb\xbf \t\r\n"):
                while head_size + len(more) * READ_CHUNK < FIRST_LINE_MAX:
                    more.append(chunk := fh.read(READ_CHUNK))
                    if not chunk or b"\n" in chunk:
                        break
    except (gzip.BadGzipFile, EOFError, zlib.error) as err:
        raise FileError(f"is not a valid gzip file ({err}): re-compress or unpack it") from None
    rest = b"".join(more).split(b"\n", 1)[0]
    text = (head + rest).decode("utf-8", errors="replace").lstrip("\ufeff")
    first = next((line for line in text.splitlines() if line.strip()), "")
    return head, first


@dataclass(frozen=True)
class Probe:
    """What the first bytes of a file say: whether it is gzipped, its first line, its shape."""

    path: Path
    gzipped: bool
    first: str
    shape: Shape
    # where the records are when the file is one JSON document (readers.json_document)
    document: str | None = None
    # a collector's prefix before every record (readers.LINE_PREFIXES): its name, pattern
    prefix: tuple[str, str] | None = None


def probe_source(path: Path, shape_name: str | None = None) -> Probe:
    """The cheap checks of a file (exists, not empty, not a folder) and its shape."""
    if not path.exists():
        raise FileError(
            "no such file: check the path (with make, quote a name that has spaces: "
            "FILES=\"'my logs.csv' other.csv\")"
        )
    if path.is_dir():
        raise FileError("is a directory: give the log files in it instead")
    if path.stat().st_size == 0:
        raise FileError("is empty (0 bytes): nothing to load; check the export that wrote it")
    with open(path, "rb") as fh:
        gzipped = fh.read(2) == GZIP_MAGIC
    head, first = _peek(path, gzipped)
    if shape_name is not None:
        if shape_name not in shapes():
            raise FileError(
                f"--format {shape_name} is not a known shape; known: {known_shapes_text()}"
            )
        shape = shapes()[shape_name]
    else:
        shape = detect_shape(first, is_parquet=head[:4] == b"PAR1" and not gzipped)
    if shape.reader == "parquet" and gzipped:
        raise FileError("is a gzipped Parquet file: unpack it (Parquet compresses itself)")
    prefix = None
    if shape_name is None and shape.reader == "csv" and (found := detect_prefix(first)):
        prefix, shape = (found[0], found[1]), found[2]
    document = None
    if shape.reader in ("csv", "jsonl"):  # what a JSON document's first line reads as
        found = json_document(head.decode("utf-8", errors="replace"))
        if found is not None:
            # its records are JSON objects: their shape is the first one's (ours if unread)
            document, record = found
            if shape_name is None:
                shape = detect_shape(json.dumps(record)) if record else shapes()["jsonl"]
            elif shape.reader != "jsonl":
                raise FileError(f"is one JSON document, not {shape.name}: give a JSON shape")
    return Probe(path, gzipped, first, shape, document, prefix)


CSV_DELIMITERS = (",", "\t", ";", "|")


def csv_delimiter(header: str) -> str:
    """The delimiter a CSV file's header row is split at: of comma, tab, semicolon (a
    spreadsheet's export where the comma is the decimal mark) and pipe, the one that gives
    the most names the contract knows, by name or alias; the first of them on a tie, so a
    header of no known name keeps the comma (and is refused, naming what it holds)."""

    def known_names(delimiter: str) -> int:
        try:
            names = next(csv.reader([header], delimiter=delimiter), [])
        except csv.Error:
            return 0
        return sum(contract_target(name) is not None for name in names)

    return max(CSV_DELIMITERS, key=known_names)


def digest_source(probe: Probe) -> Source:
    """Read a probed file once, streaming: hash, binary/encoding checks, independent counts."""
    path, gzipped, first, shape = probe.path, probe.gzipped, probe.first, probe.shape
    if shape.reader == "parquet":
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(READ_CHUNK), b""):
                digest.update(chunk)
        return Source(path, digest.hexdigest(), False, CsvProfile((), 0, 0), shape)
    delimiter = csv_delimiter(first) if shape.reader == "csv" else ","
    try:
        with gzip.open(path, "rb") if gzipped else open(path, "rb") as raw:
            hashing = _HashingReader(raw)
            text = io.TextIOWrapper(
                io.BufferedReader(hashing, READ_CHUNK), encoding="utf-8-sig", newline=""
            )
            if shape.reader == "csv":
                limit = int(project_vars().get("csv_max_record_lines", 50))
                profile = profile_csv(text, limit, delimiter)
                lines = profile.line_count
            else:
                profile, lines = CsvProfile((), 0, 0), _count_lines(hashing)
    except UnicodeDecodeError:
        raise FileError(
            "is not UTF-8 text (binary data, or another encoding such as Latin-1): "
            "re-export it as UTF-8"
        ) from None
    except (gzip.BadGzipFile, EOFError, zlib.error) as err:
        raise FileError(f"is not a valid gzip file ({err}): re-compress or unpack it") from None
    except csv.Error as err:
        raise FileError(f"is not readable as CSV ({err})") from None
    except OSError as err:
        raise FileError(f"cannot be read: {err.strerror or err}") from None
    if hashing.size == 0:
        raise FileError("is empty after decompression: nothing to load")
    if probe.document is not None:
        # a document's records are not its lines (an array can be one line or one line per
        # key): counted by the reader, as a Parquet file's rows are
        lines = None
    if shape.reader == "csv" and not profile.header:
        raise FileError("has only blank lines, no header row: nothing to load")
    if shape.reader != "csv" and not first:
        raise FileError("has only blank lines: nothing to load")
    return Source(path, hashing.sha.hexdigest(), gzipped, profile, shape, delimiter, lines)


def read_source(path: Path, shape_name: str | None = None) -> Source:
    """Read a file once, streaming: hash, shape, binary/encoding checks, independent counts."""
    return digest_source(probe_source(path, shape_name))


# --------------------------------------------------------------------------- columns


def normalise_name(name: str) -> str:
    return name.strip().lower()


@dataclass(frozen=True)
class ColumnPlan:
    """Where each delivered column lands: a contract column (by name or alias) or extras."""

    delivered: tuple[str, ...]  # header names, trimmed and lower-cased, in file order
    targets: tuple[str | None, ...]  # contract column per delivered name; None = extra field
    # positions whose values our own parsers made (a keyed hash, a user-agent family, a
    # formatted timestamp): nothing personal can be in them, so masking skips them
    made_by_parser: frozenset[int] = frozenset()
    # per delivered name, the name it lands under in extra_fields when a mapping renames it
    extra_names: tuple[str | None, ...] = ()

    @property
    def contract(self) -> list[tuple[int, str]]:
        return [(i, t) for i, t in enumerate(self.targets) if t is not None]

    @property
    def extras(self) -> list[tuple[int, str]]:
        return [(i, self.delivered[i]) for i, t in enumerate(self.targets) if t is None]

    def renamed(self, i: int) -> str | None:
        """The name extra field i lands under when its mapping renames it, else None."""
        return self.extra_names[i] if i < len(self.extra_names) else None


def refuse_past_column_limit(count: int, what: str, hint: str = "") -> None:
    """One clear error past `vars.max_columns`, for a CSV header or another shape's fields."""
    limit = int(project_vars().get("max_columns", 500))
    if count > limit:
        raise FileError(
            f"{what.format(n=count)}, more than the limit of {limit:,} "
            f"(vars.max_columns in dbt_project.yml){hint}"
        )


def plan_columns(
    header: Sequence[str],
    reserved: Iterable[str] = LINEAGE_COLUMNS,
) -> ColumnPlan:
    """Header names as they will land: trimmed, lower-case, checked against the contract.

    Refuses a header that names no known column (not an API call log), has more columns
    than `vars.max_columns`, leaves a name empty or repeats one (which value would be
    the record's?), delivers one contract column twice under two of its names (say
    `duration_ms` and `latency`), or uses a lineage column's name.
    """
    refuse_past_column_limit(
        len(header), "the header has {n:,} columns",
        ": is the delimiter right? If the file is really this wide, drop the columns you "
        "do not need or raise the limit",
    )  # fmt: skip
    names = tuple(normalise_name(h) for h in header)
    empty = [str(i) for i, n in enumerate(names, start=1) if not n]
    if empty and len(names) > 1:
        raise FileError(
            f"the header leaves column(s) at position {', '.join(empty)} without a name: "
            "name every column (or drop the empty ones) and load it again"
        )
    # the contract column each name means (by name or alias, as contract_target compares them)
    targets = tuple(contract_target(h) for h in header)
    if not any(targets):
        shown = ", ".join(_clip(h.strip()) for h in header[:4]) + (
            ", ..." if len(names) > 4 else ""
        )
        hint = ""
        if len(names) == 1 and any(sep in header[0] for sep in CSV_DELIMITERS[1:]):
            hint = " (split at a comma, tab, semicolon or pipe alike, it names no known column)"
        raise FileError(
            f"none of its {len(names)} header column(s) ({shown}) is a known log column "
            f"or alias{hint}: is this an API call log with a header row? The known names "
            "are the log_columns and log_column_aliases vars in dbt_project.yml; the known "
            f"shapes (log_shapes/): {known_shapes_text()}"
        )
    positions: dict[str, list[int]] = {}
    for i, n in enumerate(names, start=1):
        positions.setdefault(n, []).append(i)
    repeated = [
        f"{n} (positions {', '.join(map(str, p))})" for n, p in positions.items() if len(p) > 1
    ]
    if repeated:
        raise FileError(
            f"the header repeats column(s) {'; '.join(repeated)} (names compared trimmed and "
            "case-insensitively): rename or drop the repeats and load it again"
        )
    clash = [n for n in names if n in set(reserved)]
    if clash:
        raise FileError(
            f"column(s) {', '.join(clash)} use a name the loader writes itself (lineage): "
            "rename them in the file and load it again"
        )
    by_target: dict[str, list[str]] = {}
    for n, target in zip(names, targets, strict=True):
        if target is not None:
            by_target.setdefault(target, []).append(n)
    twice = [f"{' and '.join(ns)} both mean {t}" for t, ns in by_target.items() if len(ns) > 1]
    if twice:
        raise FileError(
            f"{'; '.join(twice)} (vars.log_column_aliases): keep one of them and load it again, "
            "so no value is chosen silently"
        )
    return ColumnPlan(names, targets)


def contract_columns(columns: Iterable[str]) -> set[str]:
    """The contract columns delivered names mean (by name or alias; contract_target)."""
    return {contract_target(c) or c for c in columns}


def missing_required(columns: Iterable[str]) -> list[str]:
    """Required contract columns the file delivers neither by name nor by a known alias."""
    present = contract_columns(columns)
    return [c.name for c in log_columns() if c.required and c.name not in present]


# What a batch must deliver for any record of it to be a fact, as int_api_calls_validated
# checks it (its timestamp_issue, api_name_issue and status_issue): a group of contract
# columns any one of which will do, and the reason every record gets without one.
ESSENTIAL_FIELDS = (
    (("timestamp",), "missing_column_timestamp"),
    (("api_name", "route"), "missing_column_api_name"),
    (("status", "status_code"), "missing_column_status"),
)


def essential_fields_note(columns: Iterable[str]) -> str | None:
    """A warning naming the essential fields (ESSENTIAL_FIELDS) no delivered column maps to,
    by name or alias: without one, every record of the batch is quarantined. None if all are."""
    present = contract_columns(columns)
    lacking = [(names, reason) for names, reason in ESSENTIAL_FIELDS if not present & set(names)]
    if not lacking:
        return None
    what = "; ".join(f"{' or '.join(names)} (reason {reason})" for names, reason in lacking)
    return (
        f"no field maps to {what}: every record of this batch will be quarantined. Name the "
        "field in vars.log_column_aliases, or map it (a nested one too) in a log_shapes/ file "
        "(README 'Use your own logs'), then load the file again"
    )


# An HTTP status code as the models accept one (int_api_calls_validated): three digits, 1-5.
HTTP_STATUS_CODE = "^[1-5][0-9]{2}$"


def status_codes_under_status(
    con: duckdb.DuckDBPyConnection, plan: ColumnPlan, scan: str
) -> tuple[ColumnPlan, str | None]:
    """The plan with a `status` field that holds HTTP status codes landed as the status code,
    and that field's name; the plan unchanged (and None) otherwise.

    Our `status` is success or fail; most logs call the HTTP status `status` (nginx's
    $status, Traefik, application logs), and read as ours every record was
    `unknown_status`. Decided per file by its values, when it has no status code field:
    SNIFF_MAJORITY of the non-empty values are codes (the rest land as delivered and are
    quarantined as invalid status codes, with their reason).
    """
    targets = list(plan.targets)
    if "status_code" in targets or "status" not in targets:
        return plan, None
    i = targets.index("status")
    codes, values = con.execute(
        f"select count(*) filter (where regexp_matches(trim(c{i + 1}), '{HTTP_STATUS_CODE}')), "
        f"count(nullif(trim(c{i + 1}), '')) from {scan}"
    ).fetchone()
    if not values or codes < SNIFF_MAJORITY * values:
        return plan, None
    targets[i] = "status_code"
    return replace(plan, targets=tuple(targets)), plan.delivered[i]


# A date written as day and month numbers before a four-digit year (`01/12/2026 10:00:00`,
# `1.12.2026`, `01-12-2026`), which staging reads by the batch's date order
NUMERIC_DATE = "^([0-9]{1,2})[/.-]([0-9]{1,2})[/.-][0-9]{4}([ T]|$)"


def numeric_date_order(
    con: duckdb.DuckDBPyConnection, plan: ColumnPlan, scan: str, given: str | None = None
) -> tuple[str | None, list[str]]:
    """Whether a CSV file's timestamps put the day or the month first, when they write the
    date as numbers (`01/12/2026`): `dmy` or `mdy`, decided by the file's own values (a
    first number over 12 is a day; a second over 12 is a day), and the notes to show.
    Neither over 12, or both, cannot be decided: no order, and a note that says those
    records will be quarantined as unparseable timestamps, unless the user `given` one
    (`--date-order`), which then holds; a date it cannot read (a month 13) is noted and
    quarantined. (None, []) when the file writes no date so (ISO dates and epochs need
    no order)."""
    if "timestamp" not in plan.targets:
        return None, []
    value = f"trim(c{plan.targets.index('timestamp') + 1})"
    count, first, second = con.execute(
        f"select count(*), max(cast(regexp_extract({value}, '{NUMERIC_DATE}', 1) as integer)), "
        f"max(cast(regexp_extract({value}, '{NUMERIC_DATE}', 2) as integer)) "
        f"from {scan} where regexp_matches({value}, '{NUMERIC_DATE}')"
    ).fetchone()
    if not count:
        return None, []
    if given is not None:
        month_over_12 = first > 12 if given == "mdy" else second > 12
        return given, [
            f"--date-order {given}, but some of its {count:,} dates written as numbers have "
            "a month over 12: those records will be quarantined as unparseable timestamps"
        ] if month_over_12 else []  # fmt: skip
    if (first > 12) != (second > 12):
        return ("dmy" if first > 12 else "mdy"), []
    why = (
        "both a first and a second number over 12 (day first in some, month first in others)"
        if first > 12
        else "neither number over 12, so which is the day cannot be told"
    )
    return None, [
        f"{count:,} timestamp(s) write the date as numbers (01/02/2026) with {why}: they "
        "will be quarantined as unparseable timestamps; export ISO dates (2026-02-01), or "
        "unload the batch and load it again with --date-order dmy or mdy (make load "
        "DATE_ORDER=dmy)"
    ]


def _status_codes_note(name: str | None) -> list[str]:
    if name is None:
        return []
    return [f"field {name!r} holds HTTP status codes (200, 503): landed as the status code, "
            "success or failure comes from it"]  # fmt: skip


def _clip(text: str, width: int = 40) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= width else text[: width - 3] + "..."


# --------------------------------------------------------------------------- types


def sniff_type(non_empty: int, parsed: Mapping[str, int], majority: float = SNIFF_MAJORITY) -> str:
    """The narrowest type that a majority of a column's non-empty sampled values parse as."""
    if non_empty == 0:
        return "VARCHAR"
    for type_name in TYPE_LADDER:
        if parsed.get(type_name, 0) >= majority * non_empty:
            return type_name
    return "VARCHAR"


def _sniff_sql(internal: Sequence[str], scan: str) -> str:
    """One pass over the sample: per column, non-empty values and how many parse per type."""
    parts = []
    for c in internal:
        v = f"nullif(trim({c}), '')"
        parts += [
            f"count({v})",
            f"count(*) filter (where regexp_full_match({v}, '[+-]?[0-9]+') "
            f"and try_cast({v} as bigint) is not null)",
            f"count(try_cast({v} as double))",
            f"count(try_cast({v} as timestamp))",
            f"count(try_cast({v} as boolean))",
        ]
    return (
        f"select {', '.join(parts)} from {scan} where ordinality <= {SNIFF_SAMPLE_RECORDS}"
        if parts
        else "select 1"
    )


# --------------------------------------------------------------------------- landing


@dataclass
class BatchResult:
    """What happened to one file: loaded, or skipped because its content was already loaded."""

    name: str
    batch_id: str
    record_count: int = 0
    landed: int = 0
    rejected: int = 0
    skipped_as: str | None = None  # source_name of the earlier batch with the same content
    warnings: list[str] = field(default_factory=list)
    # the delivered field landed as the status code because it holds codes, if one did
    status_codes_in: str | None = None


def _columns_struct(internal: Sequence[str]) -> str:
    return "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in internal) + "}"


def _first_line(err: Exception) -> str:
    """DuckDB's messages run to many lines of hints; the first says what went wrong, but for
    a line too long to read, whose first line is only "CSV Error on Line: N" (the line's text
    follows: never printed, it may hold personal data)."""
    text = str(err).strip()
    too_long = re.search(r"CSV Error on Line: ([0-9]+).*Maximum line size of ([0-9]+) bytes",
                         text, re.S)  # fmt: skip
    if too_long:
        line, limit = too_long.groups()
        return (
            f"line {line} is longer than {int(limit) >> 20} MiB, the longest line the loader reads"
        )
    return text.splitlines()[0].rstrip(".") if text else type(err).__name__


@dataclass(frozen=True)
class Numbering:
    """How the reader's output lines up with the Python count, decided before writing."""

    in_step: bool  # True: every reject maps to a record and the counts reconcile
    located: tuple[tuple[int, int], ...]  # per reject (reader order): record no, physical line
    warnings: tuple[str, ...]


def reconcile(profile: CsvProfile, landed: int, reject_lines: Sequence[int]) -> Numbering:
    """Check landed + rejected (+ dropped lines) against the independent count; place rejects.

    When the two readers agree (the normal case, dirty lines and all), rejects get their
    record numbers and physical lines; otherwise numbering falls back to the reader's
    order and the warning says why, so nothing is silently renumbered.
    """
    rejected = len(reject_lines) + len(profile.dropped)
    located = [profile.locate(line) for line in reject_lines]
    if landed + rejected != profile.record_count:
        return Numbering(False, (), (
            f"{profile.record_count:,} records in the file but {landed:,} landed + "
            f"{rejected:,} rejected = {landed + rejected:,}: the batch is recorded as read "
            "and dbt's reconciliation test will flag it; record numbers follow the reader's "
            "order",
        ))  # fmt: skip
    if not all(located):
        return Numbering(False, (), (
            "the CSV reader and the record count disagree on where some records start: "
            "record numbers follow the reader's order, reject lines the reader's numbering",
        ))  # fmt: skip
    return Numbering(True, tuple(loc for loc in located if loc), ())


def _open_text(source: Source):
    raw = gzip.open(source.path, "rb") if source.gzipped else open(source.path, "rb")  # noqa: SIM115
    return io.TextIOWrapper(io.BufferedReader(raw, READ_CHUNK), encoding="utf-8-sig", newline="")


def _write_without_dropped(source: Source, dest: Path) -> None:
    """A copy of the file without the lines whose unbalanced quote swallowed the rest."""
    skip = {d.physical_line for d in source.profile.dropped}
    with _open_text(source) as text, open(dest, "w", encoding="utf-8", newline="") as out:
        for no, line in enumerate(text, start=1):
            if no not in skip:
                out.write(line)


def _full_text(source: Source, spans: Mapping[int, int]) -> dict[int, str]:
    """The whole text of the records starting on these physical lines (DuckDB cuts at 10,000)."""
    if not spans:
        return {}
    wanted = {line + k: line for line, span in spans.items() for k in range(span)}
    parts: dict[int, list[str]] = {line: [] for line in spans}
    last = max(wanted)
    with _open_text(source) as text:
        for no, line in enumerate(text, start=1):
            if no in wanted:
                parts[wanted[no]].append(line)
            if no >= last:
                break
    return {line: "".join(p).rstrip("\r\n") for line, p in parts.items()}


def load_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    loaded_at: datetime,
    shape_name: str | None = None,
    date_order: str | None = None,
) -> BatchResult:
    """Land one file as one batch; raise FileError (nothing written) if it cannot be loaded.

    The reader's output goes to connection-private TEMP scratch tables first, outside the
    transaction: DuckDB reads a temp table created inside the still-open transaction
    about ten times slower (20 s instead of 2 s for a million rows). Every write to raw.*
    (records, rejects, batch, columns) then happens in one transaction. A CSV with
    lines dropped for an unbalanced quote is read from a copy without those lines.
    """
    probe = probe_source(path, shape_name)
    names = ("scan", "errors", "scans", "rejects", "shift", "lines", "parsed")
    tag = next(_temp_names)
    temps = {k: f"ingest_{k}_{tag}" for k in names}
    if probe.shape.reader != "csv":
        try:
            source, lines_error = _digest_beside_lines(con, probe, temps["lines"])
            prior = _loaded_before(con, source)
            if prior:
                return BatchResult(path.name, prior[0], skipped_as=prior[1])
            result = _land_shaped(con, source, loaded_at, temps, lines_error)
            if date_order is not None:
                result.warnings.append(
                    f"--date-order is for CSV files; a {probe.shape.name} file's reader "
                    "reads its own timestamps"
                )
            if probe.prefix is not None:
                result.warnings.append(
                    f"each line starts with {probe.prefix[0]}: read over, the record after it "
                    f"read as {probe.shape.name}"
                )
            return result
        finally:
            for name in temps.values():
                kind = "view" if name == temps["scan"] else "table"  # readers.py:_finish
                con.execute(f"drop {kind} if exists temp.{name}")
    source = replace(digest_source(probe), date_order=date_order)
    prior = _loaded_before(con, source)
    if prior:
        return BatchResult(path.name, prior[0], skipped_as=prior[1])
    plan = plan_columns(source.profile.header)
    with tempfile.TemporaryDirectory(prefix="api_trust_ingest_") as scratch:
        read_path = source.path
        if source.profile.dropped:
            read_path = Path(scratch) / "without_dropped_lines.csv"
            _write_without_dropped(source, read_path)
        try:
            result, numbering = _land(con, source, read_path, plan, loaded_at, temps)
        finally:
            for name in temps.values():
                con.execute(f"drop table if exists temp.{name}")
    result.warnings.extend(numbering.warnings)
    if source.profile.dropped:
        shown = ", ".join(str(d.physical_line) for d in source.profile.dropped[:5])
        more = ", ..." if len(source.profile.dropped) > 5 else ""
        result.warnings.append(
            f"{len(source.profile.dropped):,} line(s) ({shown}{more}) open a quote that is "
            "never closed before the next record: each is rejected on its own (raw.load_rejects, "
            "UNBALANCED QUOTE) and the records after it landed"
        )
    # a `status` landed as the status code (status_codes_under_status) delivers it
    codes = ["status_code"] if result.status_codes_in else []
    missing = missing_required([*plan.delivered, *codes])
    if missing:
        result.warnings.append(
            f"no column for required field(s) {', '.join(missing)} (by name or alias): "
            "those values will be missing downstream"
        )
    if note := essential_fields_note([*plan.delivered, *codes]):
        result.warnings.append(note)
    return result


def _loaded_before(con: duckdb.DuckDBPyConnection, source: Source) -> tuple[str, str] | None:
    """(batch id, file name) of the batch that already landed these bytes, if one did."""
    return con.execute(
        "select batch_id, source_name from raw.load_batches "
        f"where content_hash = {sql_value('sha256:' + source.content_hash)}"
    ).fetchone()


def _digest_beside_lines(
    con: duckdb.DuckDBPyConnection, probe: Probe, lines_table: str
) -> tuple[Source, duckdb.Error | None]:
    """Python's digest of a file (hash, UTF-8 check, line count) and, for a line-shaped file,
    DuckDB's read of its lines, side by side.

    DuckDB numbers lines in one thread, so the digest runs on the other core: about 0.7 s
    of a 5 s load of a million JSON lines. A digest error (not UTF-8, binary) is the one
    reported; DuckDB's own error is returned for the reader to report.
    """
    if probe.shape.reader not in LINE_READERS:
        return digest_source(probe), None
    if probe.document is not None:
        source = digest_source(probe)
        try:
            read_json_document(con, probe.path, probe.gzipped, probe.document, lines_table)
        except duckdb.Error as err:
            return source, err
        return source, None
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(digest_source, probe)
        error = None
        try:
            read_shape_lines(con, probe.path, probe.gzipped, probe.shape, lines_table,
                             probe.prefix[1] if probe.prefix else None)  # fmt: skip
        except duckdb.Error as err:
            error = err
        return pending.result(), error


def _land_shaped(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    loaded_at: datetime,
    temps: Mapping[str, str],
    lines_error: duckdb.Error | None = None,
) -> BatchResult:
    """Read a file of another shape (JSON lines, OTLP, access log, Parquet) and land it."""
    try:
        if lines_error is not None:
            raise lines_error
        read = read_shaped(con, source.path, source.gzipped, source.shape, temps,
                           pii_key(db_path()))  # fmt: skip
    except duckdb.Error as err:
        raise FileError(
            f"could not be read as {source.shape.name} ({source.shape.description}): "
            f"{_first_line(err)}; nothing was loaded"
        ) from None
    if not any(t is not None for t in read.targets) and read.record_count:
        raise FileError(
            f"reads as {source.shape.name}, but none of its fields "
            f"({', '.join(_clip(d) for d in read.delivered[:4])}) maps to a log column: add a "
            f"mapping in log_shapes/ (see README, 'Use your own logs'); known shapes: "
            f"{known_shapes_text()}"
        )
    refuse_past_column_limit(len(read.delivered), "has {n:,} distinct fields")
    result = _in_one_transaction(
        con, source.batch_id, lambda: _write_shaped_batch(con, source, read, loaded_at, temps)
    )
    result.warnings.extend(read.notes)
    if note := essential_fields_note(t for t in read.targets if t is not None):
        result.warnings.append(note)
    if source.line_count is not None and read.line_count != source.line_count:
        result.warnings.append(
            f"{source.line_count:,} lines in the file but the reader saw {read.line_count:,}: "
            "dbt's reconciliation test will flag the batch"
        )
    return result


def _land(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    read_path: Path,
    plan: ColumnPlan,
    loaded_at: datetime,
    temps: Mapping[str, str],
) -> tuple[BatchResult, Numbering]:
    gzipped = source.gzipped and read_path == source.path
    try:
        landed, reject_lines = _scan(
            con, source.profile, read_path, gzipped, plan, temps, source.delimiter
        )
    except duckdb.Error as err:
        hint = ""
        if len(source.profile.line_endings) > 1:
            styles = "/".join(sorted(repr(e)[1:-1] for e in source.profile.line_endings))
            hint = (
                f" The file mixes line endings ({styles}), which the reader refuses: "
                "convert it to one style (e.g. dos2unix) and load it again."
            )
        raise FileError(
            f"DuckDB could not read it as CSV: {_first_line(err)}; nothing was loaded." + hint
        ) from None
    numbering = reconcile(source.profile, landed, reject_lines)
    _place_rejects(con, source, reject_lines, numbering, temps)
    write = lambda: _write_batch(con, source, plan, loaded_at, temps, numbering)  # noqa: E731
    return _in_one_transaction(con, source.batch_id, write), numbering


def _in_one_transaction(
    con: duckdb.DuckDBPyConnection, batch_id: str, write: Callable[[], BatchResult]
) -> BatchResult:
    """Every raw.* write of one batch, or none: a DuckDB error becomes one FileError line.
    The batch's landed files are removed with the rollback."""
    con.execute("begin")
    try:
        result = write()
        con.execute("commit")
    except duckdb.Error as err:
        con.execute("rollback")
        drop_batch(db_path(), batch_id)
        raise FileError(
            f"DuckDB could not land it: {_first_line(err)}; nothing was loaded"
        ) from None
    except BaseException:
        con.execute("rollback")
        drop_batch(db_path(), batch_id)
        raise
    return result


def _place_rejects(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    reject_lines: Sequence[int],
    numbering: Numbering,
    temps: Mapping[str, str],
) -> None:
    """Scratch table `shift`: every rejected record with its record number, lines and text.

    DuckDB's rejects (when they line up with the Python count) and the lines the profiler
    dropped for an unbalanced quote; the whole text is read back from the file for
    records DuckDB cut at 10,000 characters.
    """
    profile = source.profile
    rows: list[tuple[int | None, int, int, int]] = []  # reader line, record, line, span
    if numbering.in_step:
        for reader_line, (record_no, line) in zip(reject_lines, numbering.located, strict=True):
            rows.append((reader_line, record_no, line, profile.lines_of(record_no)))
    rows += [(None, d.record_no, d.physical_line, 1) for d in profile.dropped]
    cut = {line: span for _, _, line, span in rows if span > 1}
    long_lines = con.execute(
        f"select line from {temps['errors']} where length(csv_line) >= 10000"
    ).fetchall() if reject_lines and numbering.in_step else []  # fmt: skip
    located = dict(zip(reject_lines, numbering.located, strict=False)) if numbering.in_step else {}
    for (reader_line,) in long_lines:
        if reader_line in located:
            record_no, line = located[reader_line]
            cut[line] = profile.lines_of(record_no)
    texts = _full_text(source, cut)
    dropped_text = {d.physical_line: d.text for d in profile.dropped}
    con.execute(
        f"""
        create temp table {temps["shift"]} (
            reader_line bigint, record_no bigint, physical_line bigint, line_count bigint,
            full_record varchar
        )
        """
    )
    for start in range(0, len(rows), 1000):  # statements of a bounded size
        values = ", ".join(
            sql_row([r, rec, line, span, texts.get(line, dropped_text.get(line))])
            for r, rec, line, span in rows[start : start + 1000]
        )
        con.execute(f"insert into {temps['shift']} values {values}")


def _scan(
    con: duckdb.DuckDBPyConnection,
    profile: CsvProfile,
    read_path: Path,
    gzipped: bool,
    plan: ColumnPlan,
    temps: Mapping[str, str],
    delimiter: str = ",",
) -> tuple[int, list[int]]:
    """Read the file into TEMP scratch: records as text in reader order, one row per reject.

    Returns the landed count and the reader line of each rejected record, in file order.
    """
    internal = [f"c{i}" for i in range(1, len(plan.delivered) + 1)]
    con.execute(
        f"""
        create temp table {temps["scan"]} as
        select * from read_csv(
            {sql_value(str(read_path))}, auto_detect = false, header = true,
            skip = {profile.leading_blank_lines},
            columns = {_columns_struct(internal)}, delim = '{delimiter}', quote = '"', escape = '"',
            strict_mode = true, compression = '{"gzip" if gzipped else "none"}',
            max_line_size = {MAX_LINE_BYTES},
            store_rejects = true, rejects_table = '{temps["errors"]}',
            rejects_scan = '{temps["scans"]}'
        ) with ordinality
        """
    )
    # reject_errors has one row per error (a short line: one per missing column): one row
    # per record here. The reader knows columns as c1..cN: report the delivered names.
    con.execute(f"""
        create temp table {temps["rejects"]} as
        select line as reader_line,
               first(error_type order by column_idx nulls first) as error_type,
               first(error_message order by column_idx nulls first) as error_message,
               string_agg(coalesce(list_extract({sql_value(list(plan.delivered))}::varchar[],
                                                try_cast(substr(column_name, 2) as integer)),
                                   column_name), ', ' order by column_idx) as column_name,
               trim(first(csv_line), chr(10) || chr(13)) as raw_record,
               line as source_line
        from {temps["errors"]} group by line order by line
    """)  # fmt: skip
    landed = con.execute(f"select count(*) from {temps['scan']}").fetchone()[0]
    lines = con.execute(f"select reader_line from {temps['rejects']} order by 1").fetchall()
    return landed, [r[0] for r in lines]


def _mask_names(con: duckdb.DuckDBPyConnection, names: Sequence[str]) -> list[str]:
    """Header names pass the same masking as values (a name can hold personal data too)."""
    if not names:
        return []
    masked = con.execute(
        f"select {mask_text_sql('n')} "
        f"from unnest({sql_value(list(names))}::varchar[]) with ordinality as t(n, i) order by i"
    ).fetchall()
    return [m[0] for m in masked]


def _insert_records(
    con: duckdb.DuckDBPyConnection,
    plan: ColumnPlan,
    delivered: Sequence[str],
    scan: str,
    join: str,
    record_no: str,
    lineage: Sequence[object],
) -> int:
    """The landing itself, for every reader: raw.api_calls from scan columns c1..cN.

    Records as delivered (personal data masked), under their contract names; fields
    outside the contract go to extra_fields, so a wide header never widens raw.
    `scan` is read as `s` (joined by `join`); `lineage` is (batch_id, source_name,
    loaded_at).
    """
    key = pii_key(db_path())
    masked = [f"s.c{i + 1}" for i, _ in plan.contract if i not in plan.made_by_parser]
    inner = ["s.*"]
    if plan.extras:
        # one JSON object: far cheaper to write than a MAP, and masked as one text
        pairs = ", ".join(
            f"{sql_value(plan.renamed(i) or delivered[i])}, s.c{i + 1}" for i, _ in plan.extras
        )
        inner.append(f"json_object({pairs})::varchar as extra_fields_text")
        masked.append("extra_fields_text")
    # a scan is in file order, and DuckDB keeps insertion order: only a join needs a sort
    order = "order by source_record_no" if join else ""
    # one match a record decides whether its values need the per-column rules
    inner.append(f"{row_has_pii_sql(masked)} as record_has_pii")

    def value(i: int, column: str) -> str:
        expr = f"s.c{i + 1}"
        if i in plan.made_by_parser:
            return expr
        return mask_column_sql(column, expr, key, "s.record_has_pii")

    select = [f"{value(i, target)} as {quote_ident(target)}" for i, target in plan.contract]
    if plan.extras:
        select.append(
            mask_column_sql("extra_fields", "s.extra_fields_text", key, "s.record_has_pii")
            + " as extra_fields"
        )
    batch_id, source_name, loaded_at = lineage
    select += [f"{sql_literal(str(batch_id))} as batch_id",
               f"{sql_literal(str(source_name))} as source_name",
               f"{record_no} as source_record_no",
               f"timestamp {sql_literal(loaded_at.isoformat(sep=' '))} as loaded_at"]  # fmt: skip
    return write_part(
        con, db_path(), str(batch_id),
        f"""
        select {", ".join(select)}
        from (select {", ".join(inner)} from {scan} s) s {join}
        {order}
        """, 0,
    )  # fmt: skip


def _insert_batch(
    con: duckdb.DuckDBPyConnection,
    values: Mapping[str, object],
    plan: ColumnPlan,
    delivered: Sequence[str],
    scan: str,
) -> None:
    """raw.load_batches and raw.load_batch_columns, types sniffed from a sample of scan."""
    internal = [f"c{i}" for i in range(1, len(plan.delivered) + 1)]
    counts = con.execute(_sniff_sql(internal, scan)).fetchone()
    types = [
        sniff_type(
            counts[i * 5], dict(zip(TYPE_LADDER, counts[i * 5 + 1 : i * 5 + 5], strict=True))
        )
        for i in range(len(plan.delivered))
    ]
    names = ", ".join(values)
    con.execute(f"insert into raw.load_batches ({names}) values {sql_row(list(values.values()))}")
    # landed_as: the contract column, or the name a mapping gave an extra field
    rows = [
        sql_row([values["batch_id"], pos, col, t, target or plan.renamed(pos - 1)])
        for pos, (col, t, target) in enumerate(zip(delivered, types, plan.targets, strict=True), 1)
    ]
    if rows:
        con.execute(
            "insert into raw.load_batch_columns "
            "(batch_id, column_position, column_name, sniffed_type, landed_as) "
            f"values {', '.join(rows)}"
        )


def _write_batch(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    plan: ColumnPlan,
    loaded_at: datetime,
    temps: Mapping[str, str],
    numbering: Numbering,
) -> BatchResult:
    """Every raw.* write for one CSV batch; the caller holds the transaction."""
    profile = source.profile
    batch_id = source.batch_id
    name = _mask_names(con, [source.path.name])[0]
    delivered = _mask_names(con, plan.delivered)
    scan, rejects, shift = temps["scan"], temps["rejects"], temps["shift"]
    plan, status_codes = status_codes_under_status(con, plan, scan)
    date_order, date_notes = numeric_date_order(con, plan, scan, source.date_order)

    record_no, join, reject_line, mapped = "s.ordinality", "", "r.source_line", ""
    span, text = "1", "r.raw_record"
    if numbering.in_step:
        # Landed row k comes after every rejected record r_j (the j-th) with r_j - j < k.
        record_no = "s.ordinality + coalesce(h.rejected_so_far, 0)"
        join = f"""asof left join (
            select landed_before, max(rejected_so_far) as rejected_so_far
            from (select record_no - row_number() over (order by record_no) as landed_before,
                         row_number() over (order by record_no) as rejected_so_far
                  from {shift})
            group by landed_before) h on s.ordinality > h.landed_before"""
        reject_line, span = "m.physical_line", "coalesce(m.line_count, 1)"
        text = "coalesce(m.full_record, r.raw_record)"
        mapped = f"left join {shift} m using (reader_line)"

    landed = _insert_records(
        con, plan, delivered, scan, join, record_no, (batch_id, name, loaded_at)
    )
    con.execute(
        f"""
        insert into raw.load_rejects by name
        select {sql_value(batch_id)} as batch_id, {sql_value(name)} as source_name,
               {reject_line} as source_line,
               r.column_name, r.error_type, {mask_text_sql("r.error_message")} as error_message,
               {mask_text_sql(text)} as raw_record, {span} as line_count
        from {rejects} r {mapped}
        union all
        select {sql_value(batch_id)}, {sql_value(name)}, physical_line, null, 'UNBALANCED QUOTE',
               'a quote opened on this line is not closed before the next record: this line '
               || 'is rejected and reading resumed on the next line',
               {mask_text_sql("full_record")}, 1
        from {shift} where reader_line is null
        order by source_line
        """
    )
    rejected = con.execute(
        "select count(*), coalesce(sum(line_count), 0) from raw.load_rejects "
        f"where batch_id = {sql_value(batch_id)}"
    ).fetchone()
    _insert_batch(con, {
        "batch_id": batch_id, "source_name": name, "source_kind": "file",
        "source_format": source.source_format, "content_hash": f"sha256:{source.content_hash}",
        "decimal_mark": source.decimal_mark,
        "record_count": profile.record_count, "landed_count": landed,
        "rejected_count": rejected[0], "columns_seen": ",".join(delivered),
        "loaded_at": loaded_at, "line_count": profile.line_count,
        "header_line_count": profile.header_lines, "blank_line_count": profile.blank_lines,
        "landed_line_count": profile.record_lines - rejected[1],
        "rejected_line_count": rejected[1], "date_order": date_order,
    }, plan, delivered, scan)  # fmt: skip
    return BatchResult(source.path.name, batch_id, profile.record_count, landed, rejected[0],
                       warnings=_status_codes_note(status_codes) + date_notes,
                       status_codes_in=status_codes)  # fmt: skip


def _write_shaped_batch(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    read: ShapedRead,
    loaded_at: datetime,
    temps: Mapping[str, str],
) -> BatchResult:
    """Every raw.* write for one batch of another shape; the caller holds the transaction."""
    batch_id = source.batch_id
    name = _mask_names(con, [source.path.name])[0]
    plan = ColumnPlan(read.delivered, read.targets, read.made_by_parser, read.extra_names)
    plan, status_codes = status_codes_under_status(con, plan, temps["scan"])
    delivered = _mask_names(con, plan.delivered)
    landed = _insert_records(
        con, plan, delivered, temps["scan"], "", "s.record_no", (batch_id, name, loaded_at)
    )
    con.execute(
        f"""
        insert into raw.load_rejects by name
        select {sql_value(batch_id)} as batch_id, {sql_value(name)} as source_name, source_line,
               null as column_name, error_type, error_message,
               {mask_text_sql("raw_record")} as raw_record, line_count
        from {temps["rejects"]} order by source_line
        """
    )
    rejected = con.execute(
        "select count(*), coalesce(sum(line_count), 0) from raw.load_rejects "
        f"where batch_id = {sql_value(batch_id)}"
    ).fetchone()
    lines = source.line_count
    _insert_batch(con, {
        "batch_id": batch_id, "source_name": name, "source_kind": "file",
        "source_format": source.source_format, "content_hash": f"sha256:{source.content_hash}",
        "decimal_mark": source.decimal_mark,
        "record_count": read.record_count, "landed_count": landed,
        "rejected_count": rejected[0], "columns_seen": ",".join(delivered),
        "loaded_at": loaded_at, "line_count": lines,
        "header_line_count": read.header_lines if lines is not None else None,
        "blank_line_count": read.blank_lines if lines is not None else None,
        "landed_line_count": read.landed_lines if lines is not None else None,
        "rejected_line_count": rejected[1] if lines is not None else None,
    }, plan, delivered, temps["scan"])  # fmt: skip
    return BatchResult(source.path.name, batch_id, read.record_count, landed, rejected[0],
                       warnings=_status_codes_note(status_codes), status_codes_in=status_codes)  # fmt: skip


# --------------------------------------------------------------------------- CLI


def summary_line(arg: str, result: BatchResult) -> str:
    """One line per file, e.g. `load: a.csv -> batch file_abhicdjkeflm: 1,000 records, ...`."""
    if result.skipped_as is not None:
        return (
            f"load: {arg} -> skipped: already loaded as batch {result.batch_id} "
            f"(from {result.skipped_as}, same content)"
        )
    return (
        f"load: {arg} -> batch {result.batch_id}: {result.record_count:,} records, "
        f"{result.landed:,} landed, {result.rejected:,} rejected"
    )


def final_line(results: Sequence[BatchResult], failed: int, db: Path) -> str:
    loaded = [r for r in results if r.skipped_as is None]
    skipped = len(results) - len(loaded)
    total = len(results) + failed
    landed = sum(r.landed for r in loaded)
    return (
        f"load: {total} file(s): {len(loaded)} loaded ({landed:,} records landed), "
        f"{skipped} skipped, {failed} failed -> {db}"
    )


def load_files(
    args: Sequence[str], shape_name: str | None = None, date_order: str | None = None
) -> int:
    """Load each file independently; return the number of files that failed."""
    con = connect(db_path())
    try:
        ensure_raw_tables(con)
        results: list[BatchResult] = []
        failed = 0
        # the list of known shapes, which several errors end with, is printed once a run:
        # a folder of files of one unknown shape gave the same 1.5 KB list for every file
        shapes_text, shapes_shown = known_shapes_text(), False
        for arg in args:
            loaded_at = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
            try:
                result = load_file(con, Path(arg), loaded_at, shape_name, date_order)
            except FileError as err:
                message = str(err)
                if shapes_text in message:
                    if shapes_shown:
                        message = message.replace(shapes_text, "as listed above")
                    shapes_shown = True
                print(f"error: {arg}: {message}", file=sys.stderr, flush=True)
                failed += 1
                continue
            results.append(result)
            print(summary_line(arg, result), flush=True)
            for warning in result.warnings:
                print(f"warning: {arg}: {warning}", file=sys.stderr, flush=True)
        print(final_line(results, failed, db_path()), flush=True)
        return failed
    finally:
        con.close()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m api_trust.ingest", description=__doc__.split("\n\n")[0]
    )
    p.add_argument(
        "files", nargs="*", metavar="FILE", help="log file (any known shape), plain or .gz"
    )
    p.add_argument(
        "--format",
        metavar="SHAPE",
        help="read every file as this shape instead of detecting it (a name in log_shapes/: "
        + ", ".join(shapes())
        + ")",
    )
    p.add_argument(
        "--date-order",
        choices=("dmy", "mdy"),
        help="how a CSV file's dates written as numbers read (01/02/2026: dmy is the 1st of "
        "February), for a file whose values cannot say (no number over 12); by default the "
        "loader decides from the values",
    )
    p.add_argument(
        "--from-env",
        metavar="VAR",
        help="also read file names from this environment variable (how `make load` passes "
        "FILES without a shell seeing them)",
    )
    args = p.parse_args(argv)
    if args.from_env:
        args.files = [*args.files, *names_from_env(args.from_env)]
    if not args.files:
        p.error('the following arguments are required: FILE (make load FILES="a.csv b.csv.gz")')
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)

    def _run() -> None:
        if load_files(args.files, args.format, args.date_order):
            sys.exit(1)

    run_cli(_run)


if __name__ == "__main__":
    # The loader never uses pandas, but duckdb imports it to inspect any bound query
    # parameter when it is installed: 0.5 s of a command's start. Only in this process,
    # which imports nothing that needs it.
    sys.modules.setdefault("pandas", None)  # type: ignore[arg-type]
    main()


__all__ = [
    "CsvProfile",
    "FileError",
    "digest_source",
    "load_file",
    "load_files",
    "main",
    "plan_columns",
    "probe_source",
    "profile_csv",
    "read_source",
    "sniff_type",
]
