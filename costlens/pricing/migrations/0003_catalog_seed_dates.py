from django.db import migrations

PRICES = ("input_per_mtok", "output_per_mtok", "cache_read_per_mtok", "cache_write_per_mtok", "reasoning_per_mtok")


def load(apps, schema_editor):
    # Re-applies the shipped catalog (costlens/pricing/data/catalog.csv): creates the rows added
    # since 0002 (Claude Haiku 4.5 from November 2025) and refreshes the `source` of the shipped
    # rows. A row whose prices an operator changed since (same model and effective_from) is kept.
    from costlens.pricing.services import DEFAULT_CATALOG, parse_price_csv

    ModelPrice = apps.get_model("pricing", "ModelPrice")
    for row in parse_price_csv(DEFAULT_CATALOG.read_text()):
        values = {c: getattr(row, c) for c in PRICES}
        current = ModelPrice.objects.filter(model=row.model, effective_from=row.effective_from).first()
        if current is None:
            ModelPrice.objects.create(
                model=row.model,
                effective_from=row.effective_from,
                provider=row.provider,
                source=row.source,
                **values,
            )
        elif all(getattr(current, c) == v for c, v in values.items()):
            current.source = row.source
            current.save(update_fields=["source"])


class Migration(migrations.Migration):
    dependencies = [("pricing", "0002_default_catalog")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
