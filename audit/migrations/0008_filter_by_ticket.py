# The trail is filtered by a case's ticket number, the case's name for people, as by its
# other filters: through an index ending in `id`.

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0007_export_line'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(fields=['zendesk_ticket_id', 'id'], name='audit_by_zendesk_ticket_id'),
        ),
    ]
