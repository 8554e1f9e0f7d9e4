# The trail's filters read real columns, each indexed with `id`: `kind` from the action,
# `requested_by`, `customer` and `reason_code` from `after`. Existing events get them once,
# here, with the append-only triggers lifted for the length of this migration only (and on
# SQLite, where adding a column rebuilds the table, the rebuilt table gets them back).
# The SQL below is `audit.models.filter_columns` as of this migration.

from django.conf import settings
from django.db import migrations, models

from audit import triggers

_POSTGRES_TEXT = "CASE WHEN jsonb_typeof(after -> '{key}') = 'string' THEN after ->> '{key}' ELSE '' END"
_SQLITE_TEXT = "CASE WHEN json_type(after, '$.{key}') = 'text' THEN json_extract(after, '$.{key}') ELSE '' END"
_KIND = {
    "postgresql": "CASE WHEN strpos(action, '.') > 0 THEN split_part(action, '.', 1) ELSE '' END",
    "sqlite": "CASE WHEN instr(action, '.') > 0 THEN substr(action, 1, instr(action, '.') - 1) ELSE '' END",
}


def _fill(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    text = {"postgresql": _POSTGRES_TEXT, "sqlite": _SQLITE_TEXT}[vendor]
    from_after = ", ".join(f"{key} = {text.format(key=key)}"
                           for key in ("requested_by", "customer", "reason_code"))
    schema_editor.execute(f"UPDATE audit_auditevent SET kind = {_KIND[vendor]}")  # noqa: S608 (constants)
    schema_editor.execute(f"UPDATE audit_auditevent SET {from_after} WHERE after IS NOT NULL")  # noqa: S608


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0005_chain_head'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(triggers.lift_in_migration, triggers.restore_in_migration),
        migrations.AddField(
            model_name='auditevent',
            name='customer',
            field=models.CharField(blank=True, default='', max_length=255),
        ),
        migrations.AddField(
            model_name='auditevent',
            name='kind',
            field=models.CharField(blank=True, default='', max_length=64),
        ),
        migrations.AddField(
            model_name='auditevent',
            name='reason_code',
            field=models.CharField(blank=True, default='', max_length=64),
        ),
        migrations.AddField(
            model_name='auditevent',
            name='requested_by',
            field=models.CharField(blank=True, default='', max_length=150),
        ),
        migrations.AlterField(
            model_name='auditevent',
            name='action',
            field=models.CharField(max_length=64),
        ),
        migrations.AlterField(
            model_name='auditevent',
            name='case_id',
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='auditevent',
            name='created_at',
            field=models.DateTimeField(),
        ),
        migrations.RunPython(_fill, migrations.RunPython.noop),
        migrations.RunPython(triggers.restore_in_migration, triggers.lift_in_migration),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(fields=['created_at', 'id'], name='audit_by_created_at'),
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(fields=['action', 'id'], name='audit_by_action'),
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(fields=['kind', 'id'], name='audit_by_kind'),
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(fields=['actor_username', 'id'], name='audit_by_actor_username'),
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(fields=['requested_by', 'id'], name='audit_by_requested_by'),
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(fields=['actor_role', 'id'], name='audit_by_actor_role'),
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(fields=['customer', 'id'], name='audit_by_customer'),
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(fields=['stripe_object_id', 'id'], name='audit_by_stripe_object_id'),
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(fields=['reason_code', 'id'], name='audit_by_reason_code'),
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(fields=['case_id', 'id'], name='audit_by_case_id'),
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(fields=['amount', 'id'], name='audit_by_amount'),
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(fields=['currency', 'id'], name='audit_by_currency'),
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(fields=['source', 'id'], name='audit_by_source'),
        ),
    ]
