"""A reconciliation item keeps the tax Stripe states on the object, apart."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('finance', '0004_one_run_of_a_period_going'),
    ]

    operations = [
        migrations.AddField(
            model_name='reconciliationitem',
            name='stripe_tax',
            field=models.BigIntegerField(blank=True, help_text='Minor units.', null=True),
        ),
    ]
