"""Reply templates for resolving a case, with a few to start from."""

from django.db import migrations, models

TEMPLATES = [
    ("Refund issued",
     "Hi {requester_name},\n\nWe have refunded the charge you asked about. Refunds take 5 to 10 "
     "business days to appear on your statement, depending on your bank.\n\nIf anything still "
     "looks wrong, reply to this ticket (#{ticket_id}) and we will look again."),
    ("Credit applied",
     "Hi {requester_name},\n\nWe have added a credit to your account. It will be applied to "
     "your next invoice automatically.\n\nReply to this ticket (#{ticket_id}) if you have any "
     "questions."),
    ("Charge explained",
     "Hi {requester_name},\n\nWe have checked your billing and the charge is correct: "
     "\n\nIf you would still like to change your plan, reply to this ticket (#{ticket_id})."),
    ("Request declined",
     "Hi {requester_name},\n\nThank you for your patience. We have reviewed your request and "
     "are unable to offer a refund under our billing policy, because \n\nReply to this ticket "
     "(#{ticket_id}) if you have any questions."),
]


def create_templates(apps, schema_editor):
    reply_template = apps.get_model("cases", "ReplyTemplate")
    for position, (name, body) in enumerate(TEMPLATES):
        reply_template.objects.get_or_create(name=name,
                                             defaults={"body": body, "position": position})


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0002_defaults"),
    ]

    operations = [
        migrations.CreateModel(
            name="ReplyTemplate",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                           verbose_name="ID")),
                ("name", models.CharField(max_length=120, unique=True)),
                ("body", models.TextField()),
                ("active", models.BooleanField(default=True)),
                ("position", models.PositiveIntegerField(default=0)),
            ],
            options={
                "ordering": ["position", "name"],
            },
        ),
        migrations.RunPython(create_templates, migrations.RunPython.noop),
    ]
