"""`manage.py import_prices PATH [--format litellm|csv] [--effective-from DATE]` (API.md §5)."""

import io
import os
import subprocess
import sys
from datetime import UTC, datetime, time
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from costlens.pricing.models import ModelPrice
from tests.conftest import at

FIXTURES = Path(__file__).parent / "fixtures"
OK_ENTRY = '{"ok-model": {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06}, '
LITELLM = FIXTURES / "litellm_prices.json"
HEADER = (
    "model,provider,effective_from,input_per_mtok,output_per_mtok,"
    "cache_read_per_mtok,cache_write_per_mtok,reasoning_per_mtok\n"
)


def run(*args) -> str:
    out = io.StringIO()
    call_command("import_prices", *args, stdout=out)
    return out.getvalue()


def write(tmp_path: Path, text: str, name: str = "prices.csv") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.fixture
def price_csv(tmp_path) -> str:
    return write(
        tmp_path,
        "# negotiated list, Q2\n"
        + HEADER
        + "acme-llm-large,acme,2026-05-01,4.00,16.00,0.40,5.00,\n"
        + "Acme-LLM-Large,acme,2026-06-01T00:00:00+02:00,3.5,14,,,20\n"
        + "openai/gpt-4o-2024-08-06,openai,2026-05-01,2.25,9.00,1.125,,\n",
    )


def test_csv_import_creates_rows_then_reimport_is_a_no_op(db, price_csv):
    before = ModelPrice.objects.count()
    out = run(price_csv)
    assert "3 created, 0 updated, 0 unchanged" in out
    assert ModelPrice.objects.count() == before + 3

    large = ModelPrice.objects.get(model="acme-llm-large", effective_from=at("2026-05-01T00:00:00Z"))
    assert (large.input_per_mtok, large.output_per_mtok) == (Decimal("4"), Decimal("16"))
    assert (large.cache_read_per_mtok, large.cache_write_per_mtok, large.reasoning_per_mtok) == (
        Decimal("0.4"),
        Decimal("5"),
        None,
    )
    # A datetime with an offset is stored in UTC; names are normalised.
    later = ModelPrice.objects.get(model="acme-llm-large", effective_from=at("2026-05-31T22:00:00Z"))
    assert later.reasoning_per_mtok == Decimal("20")
    assert ModelPrice.objects.filter(model="gpt-4o", effective_from=at("2026-05-01T00:00:00Z")).exists()

    assert "0 created, 0 updated, 3 unchanged" in run(price_csv)
    assert ModelPrice.objects.count() == before + 3


def test_csv_reimport_with_a_changed_price_updates_that_row(db, tmp_path):
    run(write(tmp_path, HEADER + "m-x,,2026-05-01,1,2,,,\n"))
    out = run(write(tmp_path, HEADER + "m-x,,2026-05-01,1,3,,,\n"))
    assert "0 created, 1 updated, 0 unchanged" in out
    assert ModelPrice.objects.get(model="m-x").output_per_mtok == Decimal("3")


def test_csv_effective_from_option_fills_empty_cells(db, tmp_path):
    path = write(tmp_path, HEADER + "m-y,,,1,2,,,\nm-z,,2026-01-01,1,2,,,\n")
    run(path, "--effective-from", "2026-07-01")
    assert ModelPrice.objects.get(model="m-y").effective_from == at("2026-07-01T00:00:00Z")
    assert ModelPrice.objects.get(model="m-z").effective_from == at("2026-01-01T00:00:00Z")


def test_the_shipped_catalog_reimports_as_a_no_op(db):
    from costlens.pricing.services import DEFAULT_CATALOG

    out = run(str(DEFAULT_CATALOG))
    assert " 0 created, 0 updated, " in out


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            HEADER + "ok,,2026-05-01,1,2,,,\nbad,,2026-05-01,abc,2,,,\n",
            "row 4: input_per_mtok 'abc' is not a decimal",
        ),
        (
            HEADER + "ok,,2026-05-01,1,2,,,\nbad,,2026-05-01,1,-2,,,\n",
            "row 4: output_per_mtok must be a non-negative",
        ),
        (HEADER + "ok,,2026-05-01,1,2,,,\nbad,,2026-05-01,1,,,,\n", "row 4: output_per_mtok is required"),
        (HEADER + "ok,,2026-05-01,1,2,,,\n,,2026-05-01,1,2,,,\n", "row 4: model is required"),
        (
            HEADER + "ok,,2026-05-01,1,2,,,\nbad,,May 1st,1,2,,,\n",
            "row 4: effective_from 'May 1st' is not an ISO",
        ),
        (HEADER + "ok,,2026-05-01,1,2,,,\nbad,,,1,2,,,\n", "row 4: effective_from is required"),
        (HEADER + "ok,,2026-05-01,1,2,,,\nbad,,2026-05-01,0.0000000000001,2,,,\n", "row 4: input_per_mtok"),
        (
            HEADER + "ok,,2026-05-01,1,2,,,\nbad,,2026-05-01,1e15,2,,,\n",
            "row 4: input_per_mtok '1e15' is too large",
        ),
        (
            HEADER + "ok,,2026-05-01,1,2,,,\nOK,,2026-05-01,1,3,,,\n",
            "row 4: ok from 2026-05-01 00:00:00 UTC is already",
        ),
        ("model,provider,input_per_mtok\nx,,1\n", "row 2 (header): missing column(s) output_per_mtok"),
    ],
)
def test_a_bad_csv_names_the_row_and_imports_nothing(db, tmp_path, body, message):
    before = ModelPrice.objects.count()
    path = write(tmp_path, "# a comment line counts as a row of the file\n" + body)
    with pytest.raises(CommandError) as excinfo:
        run(path)
    assert message in str(excinfo.value)
    assert "nothing was imported" in str(excinfo.value)
    assert ModelPrice.objects.count() == before


def test_litellm_import_converts_per_token_prices_exactly(db):
    out = run(str(LITELLM), "--effective-from", "2026-05-01")
    # gpt-4o, o3-mini, claude-sonnet-4-6, claude-haiku-3-5, gemini-2-5-flash, mistral-large,
    # text-embedding-3-small are new prices; gemini-2.5-flash-lite equals the catalog row in force.
    assert "7 created, 0 updated, 1 unchanged" in out
    assert "3 entries named a model another entry priced" in out
    assert "2 entries without input and output token prices skipped" in out

    may = at("2026-05-01T00:00:00Z")
    gpt = ModelPrice.objects.get(model="gpt-4o", effective_from=may)
    assert (gpt.input_per_mtok, gpt.output_per_mtok, gpt.cache_read_per_mtok) == (
        Decimal("2.5"),
        Decimal("10"),
        Decimal("1.25"),
    )
    assert gpt.provider == "openai"
    assert gpt.source.endswith(": gpt-4o")  # the model's own key beat the dated and azure/ keys
    sonnet = ModelPrice.objects.get(model="claude-sonnet-4-6", effective_from=may)
    assert (sonnet.cache_read_per_mtok, sonnet.cache_write_per_mtok) == (Decimal("0.3"), Decimal("3.75"))
    haiku = ModelPrice.objects.get(model="claude-haiku-3-5", effective_from=may)
    assert (haiku.input_per_mtok, haiku.cache_read_per_mtok) == (Decimal("0.8"), Decimal("0.08"))
    flash = ModelPrice.objects.get(model="gemini-2-5-flash", effective_from=may)
    assert (flash.reasoning_per_mtok, flash.provider) == (Decimal("2.5"), "google")
    assert ModelPrice.objects.get(model="mistral-large").provider == "mistral"
    assert ModelPrice.objects.get(model="text-embedding-3-small").output_per_mtok == 0
    assert not ModelPrice.objects.filter(model__in=["dall-e-3", "whisper-1", "sample-spec"]).exists()
    assert not ModelPrice.objects.filter(model="gemini-2-5-flash-lite", effective_from=may).exists()

    assert "0 created, 0 updated, 8 unchanged" in run(str(LITELLM), "--effective-from", "2026-05-01")
    # A later day with the same price map: still nothing new, the prices in force are unchanged.
    assert "0 created, 0 updated, 8 unchanged" in run(str(LITELLM), "--effective-from", "2026-06-01")


def test_litellm_is_the_default_for_json_and_dates_rows_today(db):
    run(str(LITELLM))
    today = datetime.combine(datetime.now(UTC).date(), time.min, tzinfo=UTC)
    assert ModelPrice.objects.get(model="o3-mini").effective_from == today


def test_litellm_format_flag_reads_any_file_name(db, tmp_path):
    path = write(tmp_path, LITELLM.read_text(), name="prices.txt")
    assert "7 created" in run(path, "--format", "litellm", "--effective-from", "2026-05-01")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            OK_ENTRY + '"bad": {"input_cost_per_token": "abc", "output_cost_per_token": 1e-06}}',
            "key 'bad': input_cost_per_token 'abc' is not a number",
        ),
        (
            OK_ENTRY + '"bad": {"input_cost_per_token": 1e-06, "output_cost_per_token": -1e-06}}',
            "key 'bad': output_cost_per_token must be a non-negative number",
        ),
        (
            OK_ENTRY + '"bad": {"input_cost_per_token": true, "output_cost_per_token": 1e-06}}',
            "key 'bad': input_cost_per_token must be a number",
        ),
        (
            OK_ENTRY + '"bad": [1, 2]}',
            "key 'bad': must be an object",
        ),
        (
            OK_ENTRY + '"bad": {"input_cost_per_token": 1e-06, "output_cost_per_token": NaN}}',
            "not valid JSON",
        ),
        ('{"ok-model": {"input_cost_per_token": 1e-06,', "not valid JSON"),
        ('[{"input_cost_per_token": 1e-06}]', "the top level must be an object"),
    ],
)
def test_a_bad_litellm_file_names_the_key_and_imports_nothing(db, tmp_path, body, message):
    before = ModelPrice.objects.count()
    with pytest.raises(CommandError) as excinfo:
        run(write(tmp_path, body, name="prices.json"))
    assert message in str(excinfo.value)
    assert ModelPrice.objects.count() == before


def test_litellm_prices_never_go_through_binary_floats(db, tmp_path):
    # 0.1 + 0.2 style values: as floats these would not be exact per 1M tokens.
    body = (
        '{"exact-model": {"input_cost_per_token": 1.23456789012345678e-07, "output_cost_per_token": 3.3e-07}}'
    )
    run(write(tmp_path, body, name="p.json"), "--effective-from", "2026-05-01")
    row = ModelPrice.objects.get(model="exact-model")
    assert row.input_per_mtok == Decimal("0.123456789012")  # 12 places kept, the 18th-place tail rounded
    assert row.output_per_mtok == Decimal("0.33")


def test_unreadable_path_is_an_error(db, tmp_path):
    with pytest.raises(CommandError, match="cannot read"):
        run(str(tmp_path / "missing.csv"))


def test_bad_effective_from_option_is_an_error(db):
    with pytest.raises(CommandError, match="--effective-from 'soon'"):
        run(str(LITELLM), "--effective-from", "soon")


def test_the_command_line_exits_non_zero_and_prints_the_row(db, tmp_path):
    path = write(tmp_path, HEADER + "bad,,2026-05-01,x,2,,,\n")
    db_settings = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": f"postgres://{db_settings['USER']}@{db_settings['HOST']}:{db_settings['PORT']}/{db_settings['NAME']}",
    }
    manage = Path(settings.BASE_DIR) / "manage.py"
    done = subprocess.run(
        [sys.executable, str(manage), "import_prices", path],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode != 0
    assert "row 2: input_per_mtok 'x' is not a decimal number" in done.stderr
