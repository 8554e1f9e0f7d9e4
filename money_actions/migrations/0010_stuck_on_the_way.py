"""Money actions stuck on their way to Stripe (`money_actions.selectors.stuck_on_the_way`):
an index on (state, submitted_at) for those sent and never answered, beside the one on
(state, updated_at) for those approved and never taken; and when the log last warned of
one."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('money_actions', '0009_list_indexes'),
    ]

    operations = [
        migrations.AddField(
            model_name='moneyaction',
            name='stuck_warned_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name='moneyaction',
            index=models.Index(fields=['state', 'submitted_at'], name='money_action_by_submitted'),
        ),
    ]
