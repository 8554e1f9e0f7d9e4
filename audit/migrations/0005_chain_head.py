# Each chain verification keeps the hash of the head it reached, so the next one can prove
# that head is still there (events deleted from the end of the trail).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0005_reconciliation_moves_to_finance'),
    ]

    operations = [
        migrations.AddField(
            model_name='chainverification',
            name='last_verified_hash',
            field=models.CharField(blank=True, default='', max_length=64),
        ),
    ]
