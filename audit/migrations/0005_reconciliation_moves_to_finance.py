# Reconciliation moved to the finance app (finance/migrations/0001_initial.py), keeping its
# tables: the audit app forgets the models, and no table is touched.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0004_reconciliation'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name='ReconciliationItem'),
                migrations.DeleteModel(name='ReconciliationRun'),
            ],
            database_operations=[],
        ),
    ]
