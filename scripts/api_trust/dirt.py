"""Defects planted on demand, with the truth written down.

Each dirty record gets exactly one defect, so a test can say for every planted
row where it must end up. `raw.planted_defects` holds (batch_id,
source_record_no, request_id, kind, column_name); `EXPECTED_OUTCOME` says what
the warehouse must do with each kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from api_trust.landing import planted_bit
from api_trust.simulation import load_catalogue

# kind -> (where it must end up, the reason code if quarantined; "{col}" is the column)
EXPECTED_OUTCOME = {
    "missing_required": ("quarantine", "missing_{col}"),
    "case_variant": ("fact_normalised", None),
    # a status the seed does not list: whether the call failed is unknown
    "unknown_value": ("quarantine", "unknown_{col}"),
    # a region, client or document type the seed does not list: a team's own, kept
    "unlisted_value": ("fact_unlisted", None),
    "api_typo": ("fact_unknown_api", None),
    "latency_non_numeric": ("quarantine", "invalid_latency_ms"),
    "latency_negative": ("quarantine", "negative_latency_ms"),
    # not a defect: a call faster than the log's resolution; kept with latency 0
    "latency_zero": ("fact_kept", None),
    "latency_absurd": ("quarantine", "absurd_latency_ms"),
    "status_code_mismatch": ("quarantine", "status_code_mismatch"),
    "timestamp_unparseable": ("quarantine", "unparseable_timestamp"),
    "timestamp_future": ("quarantine", "future_timestamp"),
    "duplicate_delivery": ("duplicate", None),
    "pii_pan": ("fact_masked", None),
    "pii_aadhaar": ("fact_masked", None),
}
KINDS = tuple(EXPECTED_OUTCOME)
REQUIRED_FOR_NULLS = ("timestamp", "api_name", "api_version", "region", "client_type",
                      "document_type", "status", "status_code", "latency_ms")  # fmt: skip
_VARIANTS = {
    "region": {"Metro": [" metro", "METRO", "metropolitan"], "Tier1": ["tier1", "TIER-1", " Tier 1 "],
               "Tier2": [" tier2", "TIER-2", "tier 2", "Tier-II"], "Rural": ["rural", " RURAL", "Rural "]},
    "document_type": {"PAN": ["pan", " PAN ", "Pan Card"], "Aadhaar": ["aadhaar", "AADHAR", "Aadhaar "],
                      "Passport": ["passport", "PASSPORT"], "DrivingLicense": ["driving licence", "DL",
                      "driving-license"], "VoterID": ["voter id", "EPIC", "voterid"]},
    "client_type": {"FinTech": ["fintech", "FINTECH"], "E-Commerce": ["ecommerce", "e commerce"],
                    "Bank": ["bank", "BANKING"], "Telecom": ["telco", "TELECOM"], "NBFC": ["nbfc"],
                    "Insurance": ["insurance "]},
    "status": {"success": ["SUCCESS", " Success", "succeeded", "ok"], "fail": ["FAIL", "failed", " Failure"]},
}  # fmt: skip
_UNKNOWN = {"status": ["pending", "maybe", "2"]}
UNLISTED = {
    "region": ["Tier5", "Mars", "Metr0", "Zone-9"],
    "document_type": ["RationCard", "Selfie", "PANN"],
    "client_type": ["Government", "Unknownco"],
}
_LETTERS = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))


def _typo(name: str, rng, known: set[str]) -> str:
    for _ in range(10):
        i = int(rng.integers(1, len(name) - 1))
        choice = int(rng.integers(3))
        if choice == 0:
            cand = name[:i] + name[i] + name[i:]  # doubled letter
        elif choice == 1:
            cand = name[:i] + name[i + 1 :]  # dropped letter
        else:
            cand = name[: i - 1] + name[i] + name[i - 1] + name[i + 1 :]  # swapped letters
        if cand not in known and cand.strip("_") == cand and "__" not in cand:
            return cand
    return name + "_X"


def _pick(options, u: float):
    """The option a uniform draw u in [0, 1) falls on."""
    return options[int(u * len(options))]


def _pan(letters: np.ndarray, digits: np.ndarray) -> str:
    """A PAN-shaped secret from drawn letter (6) and digit (4) codes."""
    return "".join(_LETTERS[letters[:5]]) + "".join(map(str, digits[:4])) + _LETTERS[letters[5]]


def _aadhaar(digits: np.ndarray, u: float) -> str:
    """An Aadhaar-shaped secret (12 digits, the first 2-9) from drawn digit codes, spaced
    in fours half of the time."""
    text = str(2 + digits[0] % 8) + "".join(map(str, digits[1:12]))
    return text if u < 0.5 else f"{text[:4]} {text[4:8]} {text[8:]}"


def _future(called_at_ms: int, epoch: bool, years: int) -> str:
    ms = called_at_ms + years * 365 * 86_400_000
    if epoch:
        return str(ms)
    return (datetime(1970, 1, 1) + timedelta(milliseconds=ms)).strftime("%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True)
class Plan:
    """Which records of a chunk get a defect (positions from 0) and which kind each gets."""

    picked: np.ndarray
    kinds: np.ndarray

    @property
    def duplicates(self) -> int:
        """How many records the dirt appends: one duplicate delivery adds a record."""
        return int((self.kinds == "duplicate_delivery").sum())


def plan(rng, n: int, rate: float, drift: dict) -> Plan | None:
    """Draw which of a chunk's n records get a defect and of which kind; None when none.

    Drawn before the chunk lands, so the records a chunk lands (n plus its duplicates) are
    known while it lands and the next chunk can be numbered on from it."""
    k = round(n * rate)
    if k == 0:
        return None
    picked = np.sort(rng.choice(n, k, replace=False))
    kinds = list(KINDS)
    if drift["drop_message"]:
        kinds = [x for x in kinds if not x.startswith("pii_")]
    return Plan(picked, rng.choice(kinds, k))


def inject(con, rng, planned: Plan, batch_id: str, drift: dict,
           text_of: Callable[[str], str], chunk: pd.DataFrame) -> int:  # fmt: skip
    """Plant the defects `plan` drew (`planned`; their values are drawn from the same
    `rng`) in the records of the chunk `chunk`, registered as `chunk_df` (numbered from
    its first source_record_no, contiguous), whose delivered text `text_of` gives; record
    them in raw.planted_defects. Returns how many.

    Nothing is rewritten: `chunk_landed` becomes the chunk's frame with the planted
    values beside it and the duplicate deliveries appended, so the chunk is written once,
    by the landing that reads it. The frames it registers (`picked_df`, `chunk_landed`)
    live as long as the connection `con`.
    """
    first, last = (int(chunk["source_record_no"].iat[k]) for k in (0, -1))
    kind_of = planned.kinds
    # the text of the picked records only (their typed rows, in order, by position)
    con.register("picked_df", chunk.iloc[planned.picked])
    rows = con.execute(f"{text_of('picked_df')} order by source_record_no").fetch_df()
    known = set(load_catalogue().names)
    updates: list[tuple[int, str, str | None]] = []
    planted: list[tuple[int, str, str, str | None]] = []
    duplicates: list[tuple[int, str]] = []
    # every draw up front, a row of each per dirty record (a call to the generator per
    # value cost more than the rest of the dirt together)
    k = len(rows)
    u = rng.random((k, 2))
    letters, digits = rng.integers(0, 26, (k, 6)), rng.integers(0, 10, (k, 12))
    small = rng.integers(1, 500, k)
    years = rng.integers(3, 8, k)
    for j, (row, kind) in enumerate(zip(rows.itertuples(index=False), kind_of, strict=True)):
        rec = int(row.source_record_no)
        col: str | None = None
        value: str | None = None
        u0, u1 = u[j]
        if kind == "missing_required":
            col = _pick(REQUIRED_FOR_NULLS, u0)
            value = _pick([None, "", "   "], u1)
        elif kind == "case_variant":
            col = _pick(["region", "document_type", "client_type", "status", "api_name",
                         "api_version"], u0)  # fmt: skip
            current = getattr(row, col)
            if col == "api_name":
                value = _pick(
                    [current.lower(), f" {current.title().replace('_', '-')}", f"{current} "], u1
                )
            elif col == "api_version":
                value = _pick([current.upper(), f" {current}"], u1)
            else:
                value = _pick(_VARIANTS[col][current], u1)
        elif kind in ("unknown_value", "unlisted_value"):
            values = _UNKNOWN if kind == "unknown_value" else UNLISTED
            col = _pick(list(values), u0)
            value = _pick(values[col], u1)
        elif kind == "api_typo":
            col, value = "api_name", _typo(row.api_name, rng, known)
        elif kind.startswith("latency_"):
            col = "latency_ms"
            value = {
                # a bound, not a value (`123ms` with its unit is read: staging)
                "latency_non_numeric": f"<{row.latency_ms}ms" if u0 < 0.7 else "slow",
                "latency_negative": f"-{small[j]}",
                "latency_zero": "0",
                "latency_absurd": _pick(["9e9", "86400000", "123456789"], u0),
            }[kind]
        elif kind == "status_code_mismatch":
            col, value = "status_code", ("500" if row.status == "success" else "200")
        elif kind == "timestamp_unparseable":
            col = "timestamp"
            value = _pick(["not-a-timestamp", "2026-13-45 25:61:00", "31/10/2026 10:00:00",
                           "yesterday"], u0)  # fmt: skip
        elif kind == "timestamp_future":
            col, value = "timestamp", _future(int(row.called_at_ms), drift["epoch"], int(years[j]))
        elif kind == "duplicate_delivery":
            duplicates.append((rec, row.request_id))
            continue
        elif kind in ("pii_pan", "pii_aadhaar"):
            col = "error_message"
            secret = _pan(letters[j], digits[j]) if kind == "pii_pan" else _aadhaar(digits[j], u0)
            label = "PAN" if kind == "pii_pan" else "Aadhaar"
            base = row.error_message if isinstance(row.error_message, str) else "Verification note"
            value = f"{base} (customer {label} {secret})"
        updates.append((rec, col, value))
        planted.append((rec, kind, row.request_id, col))

    # chunk_landed: the chunk's records, each with its planted value (a bit of planted_mask
    # says which column it replaces; a planted null is a null with its bit set), then the
    # duplicate deliveries: built on the chunk's frame, so the landing scans no join
    mask = np.zeros(len(chunk), dtype=np.int32)
    # the planted values as categories (code -1: null): a column of Python objects, one a
    # record, is read and freed holding the interpreter the simulation needs
    code = np.full(len(chunk), -1, dtype=np.int32)
    values = sorted({v for _, _, v in updates if v is not None})
    if updates:
        at = np.array([rec for rec, _, _ in updates], dtype=np.int64) - first
        mask[at] = [planted_bit(col) for _, col, _ in updates]
        index = {v: j for j, v in enumerate(values)}
        code[at] = [-1 if v is None else index[v] for _, _, v in updates]
    # in place: the chunk is this landing's own (a copy of its columns cost a fifth of the
    # dirt)
    chunk["planted_mask"] = mask
    chunk["planted_value"] = pd.Categorical.from_codes(code, categories=values or [""])
    landed = chunk
    if duplicates:
        # a duplicate delivery is a picked record with no other defect: the same values
        # again, numbered after the chunk's last record
        new_no = np.arange(last + 1, last + 1 + len(duplicates))
        again = np.array([rec for rec, _ in duplicates], dtype=np.int64) - first
        landed = pd.concat(
            [landed, landed.iloc[again].assign(source_record_no=new_no)], ignore_index=True
        )
        planted += [(int(no), "duplicate_delivery", rid, "request_id")
                    for no, (_, rid) in zip(new_no, duplicates, strict=True)]  # fmt: skip
    con.execute("drop view chunk_landed")
    con.register("chunk_landed", landed)
    truth = pd.DataFrame(planted, columns=["source_record_no", "kind", "request_id", "column_name"])
    truth.insert(0, "batch_id", batch_id)
    con.register("truth_df", truth)
    con.execute("insert into raw.planted_defects by name select * from truth_df")
    con.unregister("truth_df")
    return len(planted)
