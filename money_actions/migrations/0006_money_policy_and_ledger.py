"""The money policy and the reason codes move to money_actions, in the tables they have
(only Django's record of them moves); money taken gets a limit and a cap per currency;
a kind's column takes any registered kind; the ledger of Stripe money starts, with the
refunds made outside the console that were kept until now."""

import django.db.models.deletion
from django.db import migrations, models


def external_refunds_into_ledger(apps, schema_editor):
    external = apps.get_model("refunds", "ExternalRefund")
    ledger = apps.get_model("money_actions", "LedgerEntry")
    moving = ("pending", "requires_action", "succeeded")
    ledger.objects.bulk_create([
        ledger(entry_type="refund", stripe_id=row.stripe_refund_id, invoice_status="",
               stripe_customer_id=row.stripe_customer_id, parent_id=row.charge_id,
               amount=row.amount, given_back=row.amount if row.status in moving else 0,
               currency=row.currency, status=row.status, case_id=row.case_id,
               learnt_from="webhook", stripe_created_at=row.recorded_at)
        for row in external.objects.all()], ignore_conflicts=True)


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0001_initial"),
        ("money_actions", "0005_invoice_and_subscription_kinds"),
        ("refunds", "0002_seed_policy"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='CurrencyLimit',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('currency', models.CharField(help_text='ISO 4217, lower case, as Stripe writes it.', max_length=3, unique=True)),
                        ('auto_approve_limit', models.BigIntegerField(help_text='What is given back above this needs approval (minor units).')),
                        ('customer_window_limit', models.BigIntegerField(help_text="One customer's total given back in the window above this needs approval.")),
                    ],
                    options={
                        'db_table': 'refunds_currencylimit',
                        'ordering': ['currency'],
                    },
                ),
                migrations.CreateModel(
                    name='MoneyPolicy',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('charge_age_days', models.PositiveIntegerField(default=180, help_text='Refunds of charges older than this need approval.')),
                        ('customer_window_days', models.PositiveIntegerField(default=30, help_text='The window in which what a customer got back is added up.')),
                        ('fraudulent_needs_approval', models.BooleanField(default=True)),
                        ('duplicate_window_hours', models.PositiveIntegerField(default=24, help_text='Charges of the same amount this close suggest a duplicate.')),
                    ],
                    options={
                        'verbose_name_plural': 'money policy',
                        'db_table': 'refunds_refundpolicy',
                    },
                ),
                migrations.CreateModel(
                    name='ReasonCode',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('code', models.SlugField(max_length=64, unique=True)),
                        ('label', models.CharField(max_length=120)),
                        ('active', models.BooleanField(default=True)),
                        ('position', models.PositiveSmallIntegerField(default=0)),
                    ],
                    options={
                        'db_table': 'refunds_reasoncode',
                        'ordering': ['position', 'label'],
                    },
                ),
                migrations.CreateModel(
                    name='RoleLimit',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('role', models.CharField(choices=[('billing_specialist', 'Billing specialist'), ('tier2_agent', 'Tier 2 agent'), ('finance', 'Finance'), ('admin', 'Admin')], max_length=32)),
                        ('currency', models.CharField(max_length=3)),
                        ('limit', models.BigIntegerField()),
                    ],
                    options={
                        'db_table': 'refunds_rolelimit',
                        'constraints': [models.UniqueConstraint(fields=('role', 'currency'), name='role_limit_once_per_currency')],
                    },
                ),
            ],
        ),
        migrations.AddField(
            model_name='currencylimit',
            name='take_approval_limit',
            field=models.BigIntegerField(default=50000, help_text='Money taken (a balance debit, an item added to a draft) above this needs approval (minor units).'),
        ),
        migrations.AddField(
            model_name='currencylimit',
            name='take_cap',
            field=models.BigIntegerField(default=1000000, help_text='Money taken in one action can never be more than this (minor units): a larger amount is refused.'),
        ),
        migrations.AlterField(
            model_name='moneyaction',
            name='kind',
            field=models.CharField(max_length=32),
        ),
        migrations.CreateModel(
            name='LedgerEntry',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('entry_type', models.CharField(choices=[('refund', 'Refund'), ('credit_note', 'Credit note'), ('balance_transaction', 'Balance transaction'), ('dispute', 'Dispute'), ('invoice_status', 'Invoice status change')], max_length=32)),
                ('stripe_id', models.CharField(max_length=255)),
                ('invoice_status', models.CharField(blank=True, max_length=32)),
                ('stripe_customer_id', models.CharField(blank=True, max_length=255)),
                ('parent_id', models.CharField(blank=True, max_length=255)),
                ('settles', models.CharField(blank=True, max_length=255)),
                ('amount', models.BigIntegerField(help_text='As Stripe states it, in minor units.')),
                ('given_back', models.BigIntegerField(default=0, help_text='In minor units, never negative.')),
                ('currency', models.CharField(max_length=3)),
                ('status', models.CharField(blank=True, max_length=32)),
                ('learnt_from', models.CharField(choices=[('console', "The console's own call"), ('webhook', 'A Stripe webhook'), ('reconciler', 'The reconciler, finding a lost submission')], max_length=16)),
                ('stripe_created_at', models.DateTimeField(help_text='When Stripe made it (UTC).')),
                ('recorded_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('case', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='cases.case')),
                ('money_action', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='ledger_entries', to='money_actions.moneyaction')),
            ],
            options={
                'ordering': ['-stripe_created_at'],
                'indexes': [models.Index(fields=['stripe_customer_id', 'currency', 'stripe_created_at'], name='money_actio_stripe__17c410_idx'), models.Index(fields=['parent_id'], name='money_actio_parent__f83866_idx')],
                'constraints': [models.UniqueConstraint(fields=('entry_type', 'stripe_id', 'invoice_status'), name='ledger_entry_once_per_stripe_object'), models.CheckConstraint(condition=models.Q(('given_back__gte', 0)), name='ledger_entry_given_back_not_negative')],
            },
        ),
        migrations.RunPython(external_refunds_into_ledger, migrations.RunPython.noop),
    ]
