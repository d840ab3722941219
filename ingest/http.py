"""Reading an ingest request body safely: size caps, gzip caps, JSON envelope checks."""

import zlib

import orjson


class BodyError(Exception):
    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


def read_body(request, *, limit: int) -> bytes:
    """The (decompressed) body, never more than `limit` bytes in memory."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError as exc:
        raise BodyError(400, "Content-Length is not a number.") from exc
    if declared > limit:
        raise BodyError(413, f"Body is larger than {limit} bytes.")
    body = request.read(limit + 1)
    if len(body) > limit:
        raise BodyError(413, f"Body is larger than {limit} bytes.")
    encoding = request.META.get("HTTP_CONTENT_ENCODING", "").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding != "gzip":
        raise BodyError(415, f"Content-Encoding {encoding!r} is not supported; send gzip or nothing.")
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise BodyError(400, "Body is not valid gzip.") from exc
    if len(data) > limit or inflater.unconsumed_tail:
        raise BodyError(413, f"Decompressed body is larger than {limit} bytes.")
    return data


def is_json_content_type(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def parse_envelope(body: bytes, *, max_events: int) -> list:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BodyError(400, f"Body is not valid JSON (UTF-8): {exc}") from exc
    if not isinstance(data, dict) or set(data) != {"events"}:
        raise BodyError(400, 'Body must be a JSON object {"events": [...]} with no other keys.')
    events = data["events"]
    if not isinstance(events, list):
        raise BodyError(400, '"events" must be a list.')
    if not events:
        raise BodyError(400, '"events" is empty; send 1 to 1000 events.')
    if len(events) > max_events:
        raise BodyError(400, f'"events" has {len(events)} events; the limit is {max_events} per request.')
    return events
