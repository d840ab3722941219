import pytest
from django.core.management import CommandError, call_command

from costlens.customers.models import Customer, RevenueEntry
from costlens.customers.services import ImportFailed, customers_import_csv, revenue_import_csv


def test_customers_import_creates_and_updates(acme):
    Customer.objects.create(org=acme, external_id="c1", name="Old", plan="free")
    result = customers_import_csv(
        org=acme, content=b"\xef\xbb\xbfcustomer_id,name,plan,segment\nc1,Initech,pro,\nc2,Globo,team,smb\n\n"
    )
    assert (result.created, result.updated) == (1, 1)
    c1 = Customer.objects.get(org=acme, external_id="c1")
    assert (c1.name, c1.plan, c1.segment) == ("Initech", "pro", "")
    assert Customer.objects.get(org=acme, external_id="c2").segment == "smb"


def test_customers_import_reports_bad_rows_by_line_and_imports_nothing(acme):
    content = (
        'customer_id,name,plan\nc1,Ok,pro\n,Missing id,pro\nc1,Duplicate,pro\nc3,x,"' + "p" * 101 + '"\n'
    )
    with pytest.raises(ImportFailed) as info:
        customers_import_csv(org=acme, content=content)
    lines = [line for line, _ in info.value.errors]
    assert lines == [3, 4, 5]
    assert "customer_id" in info.value.errors[0][1]
    assert "line 2" in info.value.errors[1][1]
    assert "plan" in info.value.errors[2][1]
    assert not Customer.objects.filter(org=acme).exists()


def test_bad_header_is_line_1(acme):
    with pytest.raises(ImportFailed) as info:
        customers_import_csv(org=acme, content="id,name\nc1,x\n")
    assert info.value.errors[0][0] == 1
    assert "customer_id" in info.value.errors[0][1]


def test_revenue_import_all_or_nothing_with_line_numbers(acme):
    content = (
        "customer_id,amount_usd,period_start,period_end,description\n"
        "c1,300.00,2026-04-01,2026-05-01,April\n"
        "\n"
        "c2,abc,2026-04-01,2026-05-01,\n"
        "c3,10,2026-05-01,2026-04-01,\n"
        '"c4",5,2026-04-01T00:00:00,2026-04-02T00:00:00+02:00,"multi\nline"\n'
        "c5,1,2026-04-01,nope,\n"
    )
    with pytest.raises(ImportFailed) as info:
        revenue_import_csv(org=acme, content=content)
    assert [line for line, _ in info.value.errors] == [4, 5, 8]
    assert "amount_usd" in info.value.errors[0][1]
    assert "period_end" in info.value.errors[1][1]
    assert not RevenueEntry.objects.exists()
    assert not Customer.objects.filter(org=acme).exists()


def test_revenue_import_creates_customers_and_is_idempotent(acme):
    content = (
        "customer_id,amount_usd,period_start,period_end,description\n"
        "c1,300.00,2026-04-01,2026-05-01,April\n"
        "c2,0.5,2026-04-01T00:00:00Z,2026-04-02T00:00:00Z,\n"
    )
    assert revenue_import_csv(org=acme, content=content).created == 2
    again = revenue_import_csv(org=acme, content=content)
    assert (again.created, again.skipped) == (0, 2)
    entry = RevenueEntry.objects.get(customer__external_id="c1")
    assert entry.amount_nanos == 300 * 10**9
    assert entry.period_start.isoformat() == "2026-04-01T00:00:00+00:00"


def test_import_commands(acme, tmp_path, capsys):
    good = tmp_path / "c.csv"
    good.write_text("customer_id,name,plan,segment\nc1,Initech,pro,smb\n")
    call_command("import_customers", "acme", str(good))
    assert "1 created" in capsys.readouterr().out
    bad = tmp_path / "r.csv"
    bad.write_text("customer_id,amount_usd,period_start,period_end\nc1,x,2026-04-01,2026-05-01\n")
    with pytest.raises(CommandError, match="line 2: amount_usd"):
        call_command("import_revenue", "acme", str(bad))


def test_upload_form_is_for_admins_and_reports_lines(client, fran, eli, acme):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(eli)
    assert client.get("/customers/import/").status_code == 403
    client.force_login(fran)
    bad = SimpleUploadedFile("c.csv", b"customer_id,name\nc1,A\n,B\n", content_type="text/csv")
    r = client.post("/customers/import/", {"kind": "customers", "file": bad})
    assert r.status_code == 400
    assert "Line 3" in r.content.decode()
    assert not Customer.objects.filter(org=acme).exists()
    good = SimpleUploadedFile("c.csv", b"customer_id,name\nc1,A\n", content_type="text/csv")
    r = client.post("/customers/import/", {"kind": "customers", "file": good})
    assert r.status_code == 302
    assert Customer.objects.get(org=acme, external_id="c1").name == "A"
