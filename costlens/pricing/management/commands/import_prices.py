from datetime import UTC, datetime, time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from costlens.pricing.services import (
    PriceFile,
    PriceImportError,
    parse_effective_from,
    parse_litellm_json,
    parse_price_csv,
    prices_import,
)


class Command(BaseCommand):
    help = (
        "Import catalog prices (USD per 1M tokens) from a CSV file, or from LiteLLM's "
        "model_prices_and_context_window.json (USD per token). Re-importing the same rows is a "
        "no-op; a bad file imports nothing and names the row or key. Stored events keep their "
        "cost until `manage.py reprice`."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="the price file")
        parser.add_argument(
            "--format",
            dest="file_format",
            choices=["csv", "litellm"],
            help="csv (API.md §5 columns) or litellm; default: litellm for *.json, else csv",
        )
        parser.add_argument(
            "--effective-from",
            metavar="DATE",
            help="ISO date or datetime (UTC when no offset): the date of LiteLLM rows (default: today, "
            "UTC) and of CSV rows whose effective_from cell is empty",
        )

    def handle(self, *args, path: str, file_format: str | None, effective_from: str | None, **options):
        file_format = file_format or ("litellm" if path.lower().endswith(".json") else "csv")
        when = None
        if effective_from:
            try:
                when = parse_effective_from(effective_from)
            except ValueError as exc:
                raise CommandError(
                    f"--effective-from {effective_from!r} is not an ISO date or datetime"
                ) from exc
        try:
            text = Path(path).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {path}: {exc}") from exc
        try:
            if file_format == "litellm":
                today = datetime.combine(datetime.now(UTC).date(), time.min, tzinfo=UTC)
                parsed = parse_litellm_json(text, effective_from=when or today)
            else:
                parsed = PriceFile(rows=parse_price_csv(text, effective_from=when))
        except PriceImportError as exc:
            raise CommandError(f"{path}: {exc}; nothing was imported") from exc
        result = prices_import(rows=parsed.rows, only_changes=file_format == "litellm")
        summary = (
            f"{path} ({file_format}): {result.created} created, {result.updated} updated, "
            f"{result.unchanged} unchanged"
        )
        notes = []
        if parsed.folded:
            notes.append(f"{len(parsed.folded)} entries named a model another entry priced")
        if parsed.skipped:
            notes.append(f"{len(parsed.skipped)} entries without input and output token prices skipped")
        self.stdout.write(summary + (f" ({'; '.join(notes)})" if notes else ""))
        if result.created or result.updated:
            self.stdout.write("Stored events keep their cost; run `manage.py reprice` to apply new prices.")
