"""The list of money actions (`/api/v1/money-actions/`), newest first under any one filter:
an index on (filter, created_at, id) for each filter and one on (created_at, id). The single
indexes of the case, the customer and the requester become their prefixes, and go."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0009_case_by_created'),
        ('money_actions', '0008_target_name'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='moneyaction',
            name='case',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='money_actions', to='cases.case'),
        ),
        migrations.AlterField(
            model_name='moneyaction',
            name='requested_by',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AlterField(
            model_name='moneyaction',
            name='stripe_customer_id',
            field=models.CharField(max_length=255),
        ),
        migrations.AddIndex(
            model_name='moneyaction',
            index=models.Index(fields=['created_at', 'id'], name='money_action_by_created'),
        ),
        migrations.AddIndex(
            model_name='moneyaction',
            index=models.Index(fields=['state', 'created_at', 'id'], name='money_action_by_state'),
        ),
        migrations.AddIndex(
            model_name='moneyaction',
            index=models.Index(fields=['kind', 'created_at', 'id'], name='money_action_by_kind'),
        ),
        migrations.AddIndex(
            model_name='moneyaction',
            index=models.Index(fields=['case', 'created_at', 'id'], name='money_action_by_case'),
        ),
        migrations.AddIndex(
            model_name='moneyaction',
            index=models.Index(fields=['stripe_customer_id', 'created_at', 'id'], name='money_action_by_customer'),
        ),
        migrations.AddIndex(
            model_name='moneyaction',
            index=models.Index(fields=['requested_by', 'created_at', 'id'], name='money_action_by_requester'),
        ),
    ]
