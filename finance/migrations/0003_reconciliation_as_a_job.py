"""Reconciliation runs become jobs: a status, progress in days and an error; each change
once per run. The runs made before were written whole, so they are done, every day of
their period with them."""

import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def runs_before_were_done(apps, schema_editor):
    Run = apps.get_model("finance", "ReconciliationRun")
    for run in Run.objects.all().only("pk", "period_start", "period_end").iterator():
        days = (run.period_end - run.period_start).days + 1
        Run.objects.filter(pk=run.pk).update(status="done", days_total=days, days_done=days)


class Migration(migrations.Migration):

    dependencies = [
        ('finance', '0002_balance_transactions_reconciled'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='reconciliationrun',
            name='days_done',
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='reconciliationrun',
            name='days_total',
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='reconciliationrun',
            name='error',
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name='reconciliationrun',
            name='explanations_carried',
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='reconciliationrun',
            name='status',
            field=models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('done', 'Done'), ('failed', 'Failed')], default='queued', max_length=16),
        ),
        migrations.AlterField(
            model_name='reconciliationrun',
            name='created_at',
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now),
        ),
        migrations.AlterField(
            model_name='reconciliationrun',
            name='finished_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(runs_before_were_done, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='reconciliationitem',
            constraint=models.UniqueConstraint(fields=('run', 'object_type', 'stripe_object_id', 'invoice_status'), name='reconciliation_change_once_per_run'),
        ),
        migrations.AddConstraint(
            model_name='reconciliationrun',
            constraint=models.CheckConstraint(condition=models.Q(('days_done__lte', models.F('days_total'))), name='reconciliation_progress_within_period'),
        ),
    ]
