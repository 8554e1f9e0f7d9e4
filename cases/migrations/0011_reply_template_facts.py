"""Reply templates with the facts: each goes with a resolution, and the seeded ones greet
the requester by their first name and name the amount, the charge or invoice, the card and
when a refund arrives, saying a refund is on its way rather than done. A template an admin
has changed since it was seeded keeps its words."""

from django.db import migrations, models

# (name, resolution code, body as 0003 seeded it, body now)
SEEDED = [
    ("Refund issued", "refunded",
     "Hi {requester_name},\n\nWe have refunded the charge you asked about. Refunds take 5 to 10 "
     "business days to appear on your statement, depending on your bank.\n\nIf anything still "
     "looks wrong, reply to this ticket (#{ticket_id}) and we will look again.",
     "Hi {first_name},\n\nYour refund of {amount} for {charge} is on its way to {card}. It "
     "takes {arrival} to appear on your statement, depending on your bank.\n\nIf anything "
     "still looks wrong, reply to this ticket (#{ticket_id}) and we will look again."),
    ("Credit applied", "credited",
     "Hi {requester_name},\n\nWe have added a credit to your account. It will be applied to "
     "your next invoice automatically.\n\nReply to this ticket (#{ticket_id}) if you have any "
     "questions.",
     "Hi {first_name},\n\nWe have issued a credit of {amount} on {invoice}.\n\nReply to this "
     "ticket (#{ticket_id}) if you have any questions."),
    ("Charge explained", "explained",
     "Hi {requester_name},\n\nWe have checked your billing and the charge is correct: "
     "\n\nIf you would still like to change your plan, reply to this ticket (#{ticket_id}).",
     "Hi {first_name},\n\nWe have checked your billing and the charge is correct: "
     "\n\nIf you would still like to change your plan, reply to this ticket (#{ticket_id})."),
    ("Request declined", "declined",
     "Hi {requester_name},\n\nThank you for your patience. We have reviewed your request and "
     "are unable to offer a refund under our billing policy, because \n\nReply to this ticket "
     "(#{ticket_id}) if you have any questions.",
     "Hi {first_name},\n\nThank you for your patience. We have reviewed your request and "
     "are unable to offer a refund under our billing policy, because \n\nReply to this ticket "
     "(#{ticket_id}) if you have any questions."),
]
ADDED = ("Subscription changed", "subscription_changed",
         "Hi {first_name},\n\nWe have changed your subscription as you asked. Reply to this "
         "ticket (#{ticket_id}) if anything about it looks wrong.")


def with_facts(apps, schema_editor):
    reply_template = apps.get_model("cases", "ReplyTemplate")
    for name, code, seeded, now in SEEDED:
        reply_template.objects.filter(name=name).update(resolution_code=code)
        reply_template.objects.filter(name=name, body=seeded).update(body=now)
    name, code, body = ADDED
    reply_template.objects.get_or_create(
        name=name, defaults={"body": body, "resolution_code": code, "position": len(SEEDED)})


def as_seeded(apps, schema_editor):
    reply_template = apps.get_model("cases", "ReplyTemplate")
    for name, _code, seeded, now in SEEDED:
        reply_template.objects.filter(name=name, body=now).update(body=seeded)
    name, _code, body = ADDED
    reply_template.objects.filter(name=name, body=body).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0010_write_back_remove_tags"),
    ]

    operations = [
        migrations.AddField(
            model_name="replytemplate",
            name="resolution_code",
            field=models.CharField(
                blank=True,
                choices=[("refunded", "Refunded"), ("credited", "Credit memo issued"),
                         ("invoice_adjusted", "Invoice adjusted"),
                         ("subscription_changed", "Subscription changed"),
                         ("explained", "Explained, no change needed"),
                         ("declined", "Request declined under policy"),
                         ("duplicate_case", "Duplicate of another case"),
                         ("no_response", "No response from customer")],
                help_text="The resolution it is chosen for, after a money action of that kind.",
                max_length=32),
        ),
        migrations.AlterField(
            model_name="replytemplate",
            name="body",
            field=models.TextField(help_text="Placeholders: {first_name}, {requester_name}, "
                                             "{ticket_id}, {amount}, {charge}, {card}, "
                                             "{invoice}, {arrival}."),
        ),
        migrations.RunPython(with_facts, as_seeded),
    ]
