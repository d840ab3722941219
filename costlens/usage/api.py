"""GET /api/v1/usage and /api/v1/usage.csv (API.md §4): aggregates from the rollups, org-scoped."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from costlens.usage.metrics import COUNT_METRICS, METRIC_NAMES, MONEY_METRICS
from costlens.usage.selectors import (
    FILTER_KEYS,
    GROUP_KEYS,
    UsageReport,
    cyclic_gc_paused,
    rfc3339,
    truncate_hour,
    usage_report,
)

DEFAULT_WINDOW = timedelta(days=7)
MAX_WINDOW = timedelta(days=400)
MAX_HOURLY_WINDOW = timedelta(days=92)
# `format` is DRF's content-negotiation override; anything else unknown is a typo worth a 400.
KNOWN_PARAMS = {"start", "end", "group_by", "format", *FILTER_KEYS}
# A '+' offset in an unencoded query string arrives as a space: "12:00:00 02:00".
_SPACED_OFFSET = re.compile(r"^(.*T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}(?::?\d{2})?)$")


class InvalidQuery(Exception):
    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class UsageQuery:
    start: datetime
    end: datetime
    group_by: tuple[str, ...]
    filters: dict[str, list[str]]


def parse_instant(text: str) -> datetime:
    """An RFC 3339 timestamp with offset (`Z` or ±hh:mm), or a bare date meaning midnight UTC."""
    text = text.strip()
    spaced = _SPACED_OFFSET.match(text)
    if spaced:
        text = f"{spaced.group(1)}+{spaced.group(2)}"
    if len(text) == 10:
        value = datetime.fromisoformat(text)  # YYYY-MM-DD
        return value.replace(tzinfo=UTC)
    if "T" not in text.upper() and " " not in text:
        raise ValueError("not a timestamp")
    value = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("no UTC offset")
    return value.astimezone(UTC)


def parse_usage_query(params, *, now: datetime | None = None) -> UsageQuery:
    """Validate the query string; raises InvalidQuery with every field's errors at once."""
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(params) - KNOWN_PARAMS)
    for name in unknown:
        errors[name] = [
            f"Unknown parameter. Use start, end, group_by and the filters {', '.join(FILTER_KEYS)}."
        ]

    instants: dict[str, datetime | None] = {}
    for name in ("start", "end"):
        values = params.getlist(name)
        instants[name] = None
        if len(values) > 1:
            errors[name] = ["Give it once."]
        elif values and values[0].strip():
            try:
                instants[name] = parse_instant(values[0])
            except (ValueError, OverflowError):
                errors[name] = [
                    f"{values[0]!r} is not an RFC 3339 timestamp with an offset, e.g. 2026-04-01T00:00:00Z."
                ]

    group_by: list[str] = []
    for raw in params.getlist("group_by"):
        for key in (k.strip() for k in raw.split(",")):
            if not key:
                continue
            if key not in GROUP_KEYS:
                errors.setdefault("group_by", []).append(
                    f"Unknown group key {key!r}; choose from {', '.join(GROUP_KEYS)}."
                )
            elif key not in group_by:
                group_by.append(key)

    filters = {k: [v for v in params.getlist(k) if v != ""] for k in FILTER_KEYS}
    filters = {k: v for k, v in filters.items() if v}

    if "start" not in errors and "end" not in errors:
        now = now or timezone.now()
        end = instants["end"]
        start = instants["start"]
        if end is None:  # up to now, the current (partial) hour included
            end = truncate_hour(now) + timedelta(hours=1)
        if start is None:
            start = end - DEFAULT_WINDOW
        start, end = truncate_hour(start), truncate_hour(end)
        if end <= start:
            errors["end"] = ["Must be after start (both are truncated down to the hour)."]
        elif end - start > MAX_WINDOW:
            errors["end"] = [f"The window is at most {MAX_WINDOW.days} days."]
        elif "hour" in group_by and end - start > MAX_HOURLY_WINDOW:
            errors["group_by"] = [f"Group by hour over at most {MAX_HOURLY_WINDOW.days} days; use day."]
    if errors:
        raise InvalidQuery(errors)
    return UsageQuery(start=start, end=end, group_by=tuple(group_by), filters=filters)


def report_json(report: UsageReport) -> dict:
    return {
        "as_of": rfc3339(report.as_of) if report.as_of else None,
        "start": rfc3339(report.start),
        "end": rfc3339(report.end),
        "rows": report.rows,
        "totals": report.totals,
    }


def report_body(report: UsageReport) -> bytes:
    """The encoded JSON answer; rows the selector rendered already (rows_json) are spliced in as
    they are, which orjson would have encoded to the same bytes."""
    body = report_json(report)
    if report.rows_json is None:
        return orjson.dumps(body)
    # As orjson would write the dict: the members before "rows", the rows, then "totals".
    totals = body.pop("totals")
    del body["rows"]
    head = orjson.dumps(body)[:-1] + b',"rows":'
    return b"".join((head, report.rows_json.encode(), b',"totals":', orjson.dumps(totals), b"}"))


def csv_columns(group_by: tuple[str, ...]) -> list[str]:
    return [*group_by, *METRIC_NAMES]


def report_csv(report: UsageReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    columns = csv_columns(report.group_by)
    writer.writerow(columns)
    for row in report.rows:
        writer.writerow(["" if row[c] is None else row[c] for c in columns])
    return out.getvalue()


def _metric_field(name: str) -> serializers.Field:
    if name in COUNT_METRICS or name == "quality_samples":
        return serializers.IntegerField()
    if name in MONEY_METRICS:
        return serializers.CharField(help_text="USD, decimal string with 9 fractional digits")
    return serializers.FloatField(allow_null=True, help_text="null when the denominator is 0")


_metrics = inline_serializer("UsageMetrics", {name: _metric_field(name) for name in METRIC_NAMES})
_row = inline_serializer(
    "UsageRow",
    {
        **{key: serializers.CharField(allow_null=True, required=False) for key in GROUP_KEYS},
        **{name: _metric_field(name) for name in METRIC_NAMES},
    },
)
_report = inline_serializer(
    "UsageReport",
    {
        "as_of": serializers.DateTimeField(
            allow_null=True, help_text="Every event ingested before this instant is in the numbers."
        ),
        "start": serializers.DateTimeField(),
        "end": serializers.DateTimeField(),
        "rows": _row,
        "totals": _metrics,
    },
)
_errors = OpenApiResponse(description='Invalid query: {"<parameter>": ["message", ...]}.')
USAGE_PARAMETERS = [
    OpenApiParameter(
        "start",
        OpenApiTypes.DATETIME,
        description="RFC 3339 with offset; truncated down to the hour. Default: end − 7 days.",
    ),
    OpenApiParameter(
        "end",
        OpenApiTypes.DATETIME,
        description="RFC 3339 with offset, exclusive; truncated down to the hour. "
        "Default: the end of the current hour.",
    ),
    OpenApiParameter(
        "group_by",
        OpenApiTypes.STR,
        description=f"Comma list of {', '.join(GROUP_KEYS)}. Without it: one row equal to the totals.",
    ),
    *[
        OpenApiParameter(
            key, OpenApiTypes.STR, many=True, explode=True, description=f"Only this {key}; repeatable."
        )
        for key in FILTER_KEYS
    ],
]


class UsageView(APIView):
    @extend_schema(
        operation_id="usage_report",
        summary="Aggregated usage, cost, savings and margin",
        description="Metrics of API.md §3 over the half-open window [start, end), from the rollups. "
        "Counts are integers, money decimal strings, rates numbers or null. Buckets are UTC.",
        parameters=USAGE_PARAMETERS,
        responses={
            200: _report,
            400: _errors,
            401: OpenApiResponse(description="Missing or unknown API key."),
        },
    )
    @cyclic_gc_paused
    def get(self, request):
        try:
            query = parse_usage_query(request.query_params)
        except InvalidQuery as exc:
            return Response(exc.errors, status=400)
        report = usage_report(
            request.org,
            start=query.start,
            end=query.end,
            group_by=query.group_by,
            filters=query.filters,
            rendered=True,
        )
        # The same JSON as DRF's renderer (compact, UTF-8), encoded by orjson: a 30-day customer×day
        # answer has 15,500 rows × 30 keys and the stdlib encoder took a fifth of the request. Encoded
        # here, so the rows are freed before the collector resumes (see cyclic_gc_paused).
        return HttpResponse(report_body(report), content_type="application/json")


class UsageCsvView(APIView):
    @extend_schema(
        operation_id="usage_report_csv",
        summary="Aggregated usage as CSV",
        description="The rows of GET /api/v1/usage as CSV: one column per JSON key with the same names "
        "(group keys first, then the metrics); empty cells for null.",
        parameters=USAGE_PARAMETERS,
        responses={
            (200, "text/csv"): OpenApiTypes.STR,
            400: _errors,
            401: OpenApiResponse(description="Missing or unknown API key."),
        },
    )
    @cyclic_gc_paused
    def get(self, request):
        try:
            query = parse_usage_query(request.query_params)
        except InvalidQuery as exc:
            return Response(exc.errors, status=400)
        report = usage_report(
            request.org, start=query.start, end=query.end, group_by=query.group_by, filters=query.filters
        )
        response = HttpResponse(report_csv(report), content_type="text/csv; charset=utf-8")
        name = f"usage_{report.start:%Y%m%dT%H%MZ}_{report.end:%Y%m%dT%H%MZ}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
