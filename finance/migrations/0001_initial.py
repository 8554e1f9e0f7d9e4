# Reconciliation, moved here from the audit app with its tables and rows: the tables
# were created by audit/migrations/0004_reconciliation.py and keep their names (db_table),
# so this migration only tells Django that the models now live in finance.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('audit', '0004_reconciliation'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='ReconciliationRun',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('period_start', models.DateField()),
                        ('period_end', models.DateField()),
                        ('created_at', models.DateTimeField(db_index=True)),
                        ('finished_at', models.DateTimeField()),
                        ('matched_count', models.PositiveIntegerField(default=0)),
                        ('stripe_only_count', models.PositiveIntegerField(default=0)),
                        ('console_only_count', models.PositiveIntegerField(default=0)),
                        ('amounts_differ_count', models.PositiveIntegerField(default=0)),
                        ('started_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'audit_reconciliationrun',
                        'ordering': ['-id'],
                    },
                ),
                migrations.CreateModel(
                    name='ReconciliationItem',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('object_type', models.CharField(choices=[('refund', 'Refund'), ('credit_note', 'Credit note'), ('invoice_status', 'Invoice status change')], max_length=32)),
                        ('stripe_object_id', models.CharField(max_length=255)),
                        ('invoice_status', models.CharField(blank=True, max_length=32)),
                        ('match', models.CharField(choices=[('matched', 'Matched'), ('stripe_only', 'In Stripe only'), ('console_only', 'In the console only'), ('amounts_differ', 'Amounts differ')], db_index=True, max_length=32)),
                        ('money_action_id', models.UUIDField(blank=True, null=True)),
                        ('console_amount', models.BigIntegerField(blank=True, help_text='Minor units.', null=True)),
                        ('stripe_amount', models.BigIntegerField(blank=True, help_text='Minor units.', null=True)),
                        ('currency', models.CharField(blank=True, max_length=3)),
                        ('case_id', models.BigIntegerField(blank=True, null=True)),
                        ('happened_at', models.DateTimeField(blank=True, null=True)),
                        ('explained_at', models.DateTimeField(blank=True, null=True)),
                        ('explanation', models.TextField(blank=True)),
                        ('explained_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('run', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='items', to='finance.reconciliationrun')),
                    ],
                    options={
                        'db_table': 'audit_reconciliationitem',
                        'ordering': ['id'],
                    },
                ),
                migrations.AddIndex(
                    model_name='reconciliationrun',
                    index=models.Index(fields=['period_start', 'period_end'], name='audit_recon_period__19aee1_idx'),
                ),
                migrations.AddConstraint(
                    model_name='reconciliationrun',
                    constraint=models.CheckConstraint(condition=models.Q(('period_end__gte', models.F('period_start'))), name='reconciliation_period_in_order'),
                ),
                migrations.AddIndex(
                    model_name='reconciliationitem',
                    index=models.Index(fields=['object_type', 'stripe_object_id'], name='audit_recon_object__993ea3_idx'),
                ),
                migrations.AddConstraint(
                    model_name='reconciliationitem',
                    constraint=models.CheckConstraint(condition=models.Q(('explained_at__isnull', True), models.Q(('explanation', ''), _negated=True), _connector='OR'), name='reconciliation_explained_with_a_note'),
                ),
            ],
            database_operations=[],
        ),
    ]
