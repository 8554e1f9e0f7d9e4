from django.db import migrations

from audit import triggers


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [
        migrations.RunPython(
            lambda apps, schema_editor: triggers.install(schema_editor),
            lambda apps, schema_editor: triggers.remove(schema_editor),
        )
    ]
