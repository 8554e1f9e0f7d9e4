"""The money policy and the reason codes are money_actions' now, in the same tables;
refunds made outside the console live in the ledger of Stripe money."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("refunds", "0002_seed_policy"),
        ("money_actions", "0006_money_policy_and_ledger"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[migrations.DeleteModel(name=name) for name in
                              ("CurrencyLimit", "ReasonCode", "RefundPolicy", "RoleLimit")],
        ),
        migrations.DeleteModel(name="ExternalRefund"),
    ]
