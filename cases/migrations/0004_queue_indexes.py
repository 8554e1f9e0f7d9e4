"""Indexes for the queue at scale: the category filter, search by email, name and subject,
and the queue health figures."""

import django.db.models.functions.text
from django.conf import settings
from django.db import migrations, models

# Search by name or subject is `UPPER(column) LIKE UPPER('%text%')`, which a B-tree cannot
# serve: without a trigram index a name that few cases match scans every case. PostgreSQL
# only (SQLite, for tests and the demo, has no trigram indexes and needs none at its size).
TRIGRAM_COLUMNS = {"case_name_trigram": "requester_name", "case_subject_trigram": "subject"}


def add_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in TRIGRAM_COLUMNS.items():
        schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON "cases_case" '
                              f'USING gin ((UPPER("{column}"::text)) gin_trgm_ops)')


def remove_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in TRIGRAM_COLUMNS:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0003_reply_templates'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name='case',
            index=models.Index(condition=models.Q(('state__in', ['resolved', 'closed']), _negated=True), fields=['category', 'resolution_due', 'id'], name='case_open_category_by_due'),
        ),
        migrations.AddIndex(
            model_name='case',
            index=models.Index(django.db.models.functions.text.Upper('requester_email'), name='case_email_upper'),
        ),
        migrations.AddIndex(
            model_name='case',
            index=models.Index(condition=models.Q(models.Q(('state__in', ['resolved', 'closed']), _negated=True), ('assignee__isnull', True)), fields=['zendesk_created_at', 'id'], name='case_open_unassigned_by_age'),
        ),
        migrations.AddIndex(
            model_name='case',
            index=models.Index(fields=['first_responded_at'], name='case_first_responded_at'),
        ),
        migrations.RunPython(add_trigram_indexes, remove_trigram_indexes),
    ]
