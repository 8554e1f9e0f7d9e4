"""Who escalated a case (for Tier 2's view), a Stripe customer named on the ticket until
Stripe confirms it, notes as HTML for Zendesk, and search by part of an email."""

from django.db import migrations, models

# Search by part of an email is `UPPER(requester_email) LIKE UPPER('%text%')`, served by a
# trigram index as name and subject are (0004). PostgreSQL only.
EMAIL_TRIGRAM = "case_email_trigram"


def add_email_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{EMAIL_TRIGRAM}" ON "cases_case" '
                          'USING gin ((UPPER("requester_email"::text)) gin_trgm_ops)')


def remove_email_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f'DROP INDEX IF EXISTS "{EMAIL_TRIGRAM}"')


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0005_write_back_claims'),
    ]

    operations = [
        migrations.AddField(
            model_name='case',
            name='escalated_by_zendesk_id',
            field=models.BigIntegerField(blank=True, db_index=True, null=True),
        ),
        migrations.AddField(
            model_name='case',
            name='escalation_group_id',
            field=models.BigIntegerField(blank=True, db_index=True, null=True),
        ),
        migrations.AddField(
            model_name='writeback',
            name='note_html',
            field=models.TextField(blank=True),
        ),
        migrations.AlterField(
            model_name='case',
            name='stripe_link',
            field=models.CharField(choices=[('none', 'No Stripe customer found'), ('verified', 'Verified'), ('unverified', 'Matched by email, not yet confirmed'), ('ambiguous', 'Several customers match'), ('named', 'Named on the ticket, being checked in Stripe')], default='none', max_length=16),
        ),
        migrations.RunPython(add_email_trigram_index, remove_email_trigram_index),
    ]
