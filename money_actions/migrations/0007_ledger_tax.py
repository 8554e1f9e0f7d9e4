"""The ledger keeps the tax Stripe states on an object (a credit note's), apart."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('money_actions', '0006_money_policy_and_ledger'),
    ]

    operations = [
        migrations.AddField(
            model_name='ledgerentry',
            name='tax',
            field=models.BigIntegerField(default=0, help_text='In minor units, part of the amount.'),
        ),
    ]
