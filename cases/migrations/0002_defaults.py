from django.db import migrations

# Hours to first response and to resolution, by priority.
SLA_DEFAULTS = {"urgent": (1, 8), "high": (4, 24), "normal": (8, 72), "low": (24, 120)}


def create_defaults(apps, schema_editor):
    sla_target = apps.get_model("cases", "SlaTarget")
    for priority, (first_response, resolution) in SLA_DEFAULTS.items():
        sla_target.objects.get_or_create(
            priority=priority,
            defaults={"first_response_hours": first_response, "resolution_hours": resolution},
        )
    apps.get_model("cases", "IntakeRule").objects.get_or_create(pk=1)
    apps.get_model("cases", "SyncState").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]
    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
