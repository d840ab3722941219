from django.db import migrations


def load(apps, schema_editor):
    # The shipped catalog (costlens/pricing/data/catalog.csv) is data, parsed by the same code
    # that import_prices uses; rows are written through the historical model.
    from costlens.pricing.services import DEFAULT_CATALOG, parse_price_csv

    ModelPrice = apps.get_model("pricing", "ModelPrice")
    for row in parse_price_csv(DEFAULT_CATALOG.read_text()):
        ModelPrice.objects.update_or_create(
            model=row.model,
            effective_from=row.effective_from,
            defaults={
                "provider": row.provider,
                "input_per_mtok": row.input_per_mtok,
                "output_per_mtok": row.output_per_mtok,
                "cache_read_per_mtok": row.cache_read_per_mtok,
                "cache_write_per_mtok": row.cache_write_per_mtok,
                "reasoning_per_mtok": row.reasoning_per_mtok,
                "source": row.source,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("pricing", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
