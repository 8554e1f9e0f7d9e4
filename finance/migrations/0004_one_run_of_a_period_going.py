"""One run of a period going (queued or running) at a time. Runs asked for twice before
this, both still going, would break the constraint: the older of them goes on, and the
others stop, failed, saying so (their days stored so far are kept)."""

from django.db import migrations, models
from django.utils import timezone

GOING = ["queued", "running"]
STOPPED = ("Stopped: an older run of the same period was already going, and one run of a "
           "period goes at a time. See that run's report.")


def stop_second_runs(apps, schema_editor):
    Run = apps.get_model("finance", "ReconciliationRun")
    kept = set()
    for run in Run.objects.filter(status__in=GOING).order_by("pk").only(
            "pk", "period_start", "period_end").iterator():
        period = (run.period_start, run.period_end)
        if period in kept:
            Run.objects.filter(pk=run.pk).update(status="failed", error=STOPPED,
                                                 finished_at=timezone.now())
        kept.add(period)


class Migration(migrations.Migration):

    dependencies = [
        ('finance', '0003_reconciliation_as_a_job'),
    ]

    operations = [
        migrations.RunPython(stop_second_runs, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='reconciliationrun',
            constraint=models.UniqueConstraint(condition=models.Q(('status__in', ['queued', 'running'])), fields=('period_start', 'period_end'), name='reconciliation_one_going_per_period'),
        ),
    ]
