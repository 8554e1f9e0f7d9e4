# Each event keeps its line of the CSV export, made once (`audit.exports.export_line`).
# Existing events get theirs here, a block at a time, with the append-only triggers lifted
# for the length of this migration only (on SQLite, where adding a column rebuilds the
# table, the rebuilt table gets them back).

from django.db import migrations, models

from audit import triggers
from audit.exports import export_line

BLOCK = 2_000


def _fill(apps, schema_editor):
    events = apps.get_model("audit", "AuditEvent").objects
    last = 0
    while block := list(events.filter(id__gt=last).order_by("id")[:BLOCK]):
        for event in block:
            event.export_line = export_line(event)
        events.bulk_update(block, ["export_line"])
        last = block[-1].id


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0006_filter_columns"),
    ]

    operations = [
        migrations.RunPython(triggers.lift_in_migration, triggers.restore_in_migration),
        migrations.AddField(
            model_name="auditevent",
            name="export_line",
            field=models.TextField(blank=True, default=""),
        ),
        migrations.RunPython(_fill, migrations.RunPython.noop),
        migrations.RunPython(triggers.restore_in_migration, triggers.lift_in_migration),
    ]
