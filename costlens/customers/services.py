"""Writes for customers and recurring revenue: API upserts and the all-or-nothing CSV imports."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from django.db import transaction

from costlens.accounts.models import Organization
from costlens.customers.models import Customer, RevenueEntry
from costlens.customers.validation import (
    CustomerInput,
    InvalidInput,
    RevenueInput,
    validate_customer,
    validate_customer_id,
    validate_revenue,
)

MAX_IMPORT_BYTES = 5 * 1024 * 1024
MAX_IMPORT_ROWS = 50_000
CUSTOMER_COLUMNS = ("customer_id", "name", "plan", "segment")
REVENUE_COLUMNS = ("customer_id", "amount_usd", "period_start", "period_end", "description")


def customer_upsert(*, org: Organization, external_id: str, data: CustomerInput) -> tuple[Customer, bool]:
    """Set the fields that were sent; create the customer if it is new. Returns (customer, created)."""
    customer, created = Customer.objects.get_or_create(org=org, external_id=external_id, defaults=data.fields)
    if not created and data.fields:
        for key, value in data.fields.items():
            setattr(customer, key, value)
        customer.save(update_fields=list(data.fields))
    return customer, created


def revenue_entry_create(*, org: Organization, external_id: str, data: RevenueInput) -> RevenueEntry:
    """Record recurring revenue; the customer is created if no event has named it yet."""
    with transaction.atomic():
        customer, _ = Customer.objects.get_or_create(org=org, external_id=external_id)
        return RevenueEntry.objects.create(
            org=org,
            customer=customer,
            amount_nanos=data.amount_nanos,
            period_start=data.period_start,
            period_end=data.period_end,
            description=data.description,
        )


def revenue_entry_delete(*, org: Organization, entry_id: int) -> None:
    RevenueEntry.objects.filter(org=org, pk=entry_id).delete()


# --- CSV imports -------------------------------------------------------------------------------


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    rows: int = 0


@dataclass
class ImportFailed(Exception):
    """Bad rows, each as (line number in the file, message); nothing was imported."""

    errors: list[tuple[int, str]] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(f"line {line}: {message}" for line, message in self.errors)


def _read_csv(content: bytes | str, *, required: tuple[str, ...], known: tuple[str, ...]):
    """Yield (line number, row dict); header problems raise ImportFailed on line 1."""
    if isinstance(content, bytes):
        if len(content) > MAX_IMPORT_BYTES:
            raise ImportFailed([(0, f"the file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB")])
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ImportFailed([(0, "the file is not UTF-8 text")]) from exc
    reader = csv.reader(io.StringIO(content, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        header = []
    except csv.Error as exc:
        raise ImportFailed([(1, f"unreadable CSV: {exc}")]) from exc
    if not any(header):
        raise ImportFailed([(1, "the file is empty; expected a header line: " + ",".join(known))])
    missing = [c for c in required if c not in header]
    unknown = [c for c in header if c not in known]
    if missing or unknown:
        problems = []
        if missing:
            problems.append("missing column(s) " + ", ".join(missing))
        if unknown:
            problems.append("unknown column(s) " + ", ".join(unknown))
        raise ImportFailed([(1, "; ".join(problems) + ". Expected: " + ",".join(known))])
    previous_end = reader.line_num
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ImportFailed([(previous_end + 1, f"unreadable CSV: {exc}")]) from exc
        line, previous_end = previous_end + 1, reader.line_num
        if not any(c.strip() for c in cells):
            continue  # blank lines are allowed
        if len(cells) > len(header):
            yield line, None
            continue
        cells += [""] * (len(header) - len(cells))
        yield line, {k: v.strip() for k, v in zip(header, cells)}


def _check_size(line: int) -> None:
    if line > MAX_IMPORT_ROWS + 1:
        raise ImportFailed([(line, f"more than {MAX_IMPORT_ROWS} rows; split the file")])


def customers_import_csv(*, org: Organization, content: bytes | str) -> ImportResult:
    """customer_id,name,plan,segment — creates or updates; an empty cell leaves the value as it is."""
    errors: list[tuple[int, str]] = []
    parsed: dict[str, CustomerInput] = {}
    first_line: dict[str, int] = {}
    for line, row in _read_csv(content, required=("customer_id",), known=CUSTOMER_COLUMNS):
        _check_size(line)
        if row is None:
            errors.append((line, "more cells than columns"))
            continue
        try:
            external_id = validate_customer_id(row.get("customer_id", ""))
        except ValueError as exc:
            errors.append((line, f"customer_id {exc}"))
            continue
        if external_id in first_line:
            errors.append(
                (line, f"customer_id {external_id!r} already appears on line {first_line[external_id]}")
            )
            continue
        first_line[external_id] = line
        try:
            parsed[external_id] = validate_customer(
                {k: v for k, v in row.items() if k != "customer_id" and v}
            )
        except InvalidInput as exc:
            errors.append((line, _flat(exc.errors)))
    if errors:
        raise ImportFailed(errors)
    result = ImportResult(rows=len(parsed))
    with transaction.atomic():
        existing = {
            c.external_id: c
            for c in Customer.objects.select_for_update().filter(org=org, external_id__in=list(parsed))
        }
        new = []
        for external_id, data in parsed.items():
            customer = existing.get(external_id)
            if customer is None:
                new.append(Customer(org=org, external_id=external_id, **data.fields))
                continue
            changed = [k for k, v in data.fields.items() if getattr(customer, k) != v]
            if changed:
                for key in changed:
                    setattr(customer, key, data.fields[key])
                customer.save(update_fields=changed)
                result.updated += 1
            else:
                result.skipped += 1
        Customer.objects.bulk_create(new)
        result.created = len(new)
    return result


def revenue_import_csv(*, org: Organization, content: bytes | str) -> ImportResult:
    """customer_id,amount_usd,period_start,period_end,description — a row identical to an existing
    entry is skipped, so importing the same file twice adds nothing."""
    errors: list[tuple[int, str]] = []
    parsed: list[tuple[str, RevenueInput]] = []
    required = ("customer_id", "amount_usd", "period_start", "period_end")
    for line, row in _read_csv(content, required=required, known=REVENUE_COLUMNS):
        _check_size(line)
        if row is None:
            errors.append((line, "more cells than columns"))
            continue
        try:
            external_id = validate_customer_id(row.get("customer_id", ""))
        except ValueError as exc:
            errors.append((line, f"customer_id {exc}"))
            continue
        try:
            data = validate_revenue(
                {k: v for k, v in row.items() if k != "customer_id" and v}, naive_is_utc=True
            )
        except InvalidInput as exc:
            errors.append((line, _flat(exc.errors)))
            continue
        parsed.append((external_id, data))
    if errors:
        raise ImportFailed(errors)
    result = ImportResult(rows=len(parsed))
    with transaction.atomic():
        ids = sorted({external_id for external_id, _ in parsed})
        Customer.objects.bulk_create(
            [Customer(org=org, external_id=external_id) for external_id in ids], ignore_conflicts=True
        )
        customers = {c.external_id: c for c in Customer.objects.filter(org=org, external_id__in=ids)}
        seen = set(
            RevenueEntry.objects.filter(org=org, customer__in=customers.values()).values_list(
                "customer_id", "amount_nanos", "period_start", "period_end", "description"
            )
        )
        new = []
        for external_id, data in parsed:
            customer = customers[external_id]
            key = (customer.pk, data.amount_nanos, data.period_start, data.period_end, data.description)
            if key in seen:
                result.skipped += 1
                continue
            seen.add(key)
            new.append(
                RevenueEntry(
                    org=org,
                    customer=customer,
                    amount_nanos=data.amount_nanos,
                    period_start=data.period_start,
                    period_end=data.period_end,
                    description=data.description,
                )
            )
        RevenueEntry.objects.bulk_create(new)
        result.created = len(new)
    return result


def _flat(errors: dict[str, list[str]]) -> str:
    return "; ".join(f"{key} {' '.join(messages)}" for key, messages in errors.items())
