"""A reply template can go with one kind of money action before its resolution's others:
the one seeded for a cancellation with a refund, which resolves a case as a subscription
changed, says the subscription is canceled and names the refund on its way."""

from django.db import migrations, models

NAME = "Subscription canceled with a refund"
KIND = "subscription_cancel_refund"
BODY = ("Hi {first_name},\n\nYour subscription is canceled, as you asked. Your refund of "
        "{amount} for {charge} is on its way to {card}. It takes {arrival} to appear on your "
        "statement, depending on your bank.\n\nIf anything still looks wrong, reply to this "
        "ticket (#{ticket_id}) and we will look again.")


def with_kind(apps, schema_editor):
    reply_template = apps.get_model("cases", "ReplyTemplate")
    position = max(reply_template.objects.values_list("position", flat=True), default=-1) + 1
    reply_template.objects.get_or_create(name=NAME, defaults={
        "body": BODY, "resolution_code": "subscription_changed", "money_action_kind": KIND,
        "position": position})


def without_kind(apps, schema_editor):
    apps.get_model("cases", "ReplyTemplate").objects.filter(name=NAME, body=BODY).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0011_reply_template_facts"),
    ]

    operations = [
        migrations.AddField(
            model_name="replytemplate",
            name="money_action_kind",
            field=models.CharField(
                blank=True, max_length=32,
                help_text="The kind of money action it is chosen for first, of its "
                          "resolution's."),
        ),
        migrations.RunPython(with_kind, without_kind),
    ]
