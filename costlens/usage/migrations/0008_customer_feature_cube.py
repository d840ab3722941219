"""Cube 4 of the rollup slices (customer x feature, costlens.usage.rollup.CUBES) for data rolled up
before it existed.

Built here from the full rollups already stored (a slice is by definition the sums of the full rows
of its bucket), so reports that read it are right as soon as the new code serves. Every rolled-up
hour is also marked dirty: a worker of the previous release that recomputes an hour between this
migration and its restart rewrites cubes 1-3 only and would leave that hour's cube-4 rows stale; the
next rollup run of the new release recomputes every hour (a full rebuild, ~50 s per 10M events
on the benchmark machine) and ends any such difference.
"""

from django.db import migrations
from django.utils import timezone

CUBE = 4
NOT_SUMMED = {"id", "org", "bucket", "customer", "feature", "model", "route", "provider", "cube"}


def build_cube(apps, schema_editor):
    hourly = apps.get_model("usage", "HourlyRollup")
    columns = [f.column for f in hourly._meta.concrete_fields if f.name not in NOT_SUMMED]
    cols = ", ".join(columns)
    sums = ", ".join(f"SUM({c})" for c in columns)
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        for source, target in (
            ("usage_hourlyrollup", "usage_hourlyslice"),
            ("usage_dailyrollup", "usage_dailyslice"),
        ):
            cursor.execute(f"DELETE FROM {target} WHERE cube = %s", [CUBE])
            cursor.execute(
                f"""
                INSERT INTO {target} (org_id, bucket, cube, customer, feature, model, route, provider, {cols})
                SELECT org_id, bucket, %s, customer, feature, '', '', '', {sums}
                FROM {source}
                GROUP BY org_id, bucket, customer, feature
                """,
                [CUBE],
            )
        # "WHERE 1 = 1": SQLite cannot otherwise tell the ON CONFLICT clause from a join's ON.
        cursor.execute(
            """
            INSERT INTO usage_dirtybucket (org_id, hour, generation, marked_at)
            SELECT DISTINCT org_id, bucket, 1, %s FROM usage_hourlyrollup WHERE 1 = 1
            ON CONFLICT (org_id, hour) DO NOTHING
            """,
            [connection.ops.adapt_datetimefield_value(timezone.now())],
        )


class Migration(migrations.Migration):
    dependencies = [
        ("usage", "0007_rollup_rows_without_org_fk"),
    ]

    operations = [migrations.RunPython(build_cube, migrations.RunPython.noop)]
