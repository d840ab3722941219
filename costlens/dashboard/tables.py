"""Page tables: named columns (the API's metric names), rows of exact values, the same data as HTML or CSV.

Money stays a decimal string end to end; derived money (cost per request, per 1K tokens) is computed
in integer nano-USD and rounded half-even once, like every other amount.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from decimal import Decimal

from django.http import HttpResponse

from costlens.money import NANOS_PER_USD, nanos_to_str, round_half_even_div, usd_to_nanos


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    # text | int | tokens (int, shown compact) | usd | rate (fraction) | pct (already ×100) | ms | score
    # | date | bool
    kind: str = "text"
    sortable: bool = True

    @property
    def numeric(self) -> bool:
        return self.kind not in ("text", "date", "bool")


@dataclass
class Table:
    name: str
    columns: list[Column]
    rows: list[dict] = field(default_factory=list)
    # Shown in the CSV download link and the file name.
    title: str = ""

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([c.key for c in self.columns])
        for row in self.rows:
            writer.writerow([csv_value(row.get(c.key)) for c in self.columns])
        return out.getvalue()


def csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def csv_response(table: Table, filename: str) -> HttpResponse:
    response = HttpResponse(table.csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def nanos(usd: str | None) -> int:
    return usd_to_nanos(Decimal(usd)) if usd else 0


def per(cost_usd: str, count: int, *, scale: int = 1) -> str | None:
    """cost × scale / count as exact money (None when count is 0): cost per request, per 1K tokens."""
    if not count:
        return None
    cost = nanos(cost_usd) * scale
    sign = -1 if cost < 0 else 1
    return nanos_to_str(sign * round_half_even_div(abs(cost), count))


def share_pct(part_usd: str, total_usd: str) -> float | None:
    total = nanos(total_usd)
    if not total:
        return None
    return round(100 * nanos(part_usd) / total, 2)


def savings_pct(metrics: dict) -> float | None:
    """Savings as a percent of the baseline cost (what all-frontier would have cost)."""
    baseline = nanos(metrics["baseline_cost_usd"])
    if not baseline:
        return None
    return round(100 * nanos(metrics["savings_usd"]) / baseline, 2)


def usd_float(usd: str | None) -> float:
    """For chart axes only; never for a number shown as text or exported."""
    return nanos(usd) / NANOS_PER_USD


def sort_rows(rows: list[dict], key: str, descending: bool) -> list[dict]:
    """Sort by one column; nulls last either way, money compared exactly."""

    def value(row):
        v = row.get(key)
        if isinstance(v, str):
            try:
                return Decimal(v)
            except ArithmeticError:
                return v.lower()
        return v

    present = [r for r in rows if row_value_present(r.get(key))]
    missing = [r for r in rows if not row_value_present(r.get(key))]
    present.sort(key=value, reverse=descending)
    return present + missing


def row_value_present(value) -> bool:
    return value is not None and value != ""
