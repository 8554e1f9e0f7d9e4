"""The default refund policy: 500.00 auto-approve limits in USD, EUR and GBP, and the
internal reason codes the issue lists. Admins change them afterwards."""

from django.db import migrations

REASON_CODES = [
    ("courtesy", "Courtesy"),
    ("billing_error", "Billing error"),
    ("duplicate_charge", "Duplicate charge"),
    ("service_issue", "Service issue"),
    ("cancellation", "Cancellation"),
    ("other", "Other"),
]
AUTO_APPROVE_LIMIT = 50_000  # 500.00
CUSTOMER_WINDOW_LIMIT = 200_000  # 2,000.00 in 30 days


def seed(apps, schema_editor):
    apps.get_model("refunds", "RefundPolicy").objects.get_or_create(pk=1)
    limits = apps.get_model("refunds", "CurrencyLimit")
    for currency in ("usd", "eur", "gbp"):
        limits.objects.get_or_create(currency=currency, defaults={
            "auto_approve_limit": AUTO_APPROVE_LIMIT,
            "customer_window_limit": CUSTOMER_WINDOW_LIMIT})
    codes = apps.get_model("refunds", "ReasonCode")
    for position, (code, label) in enumerate(REASON_CODES):
        codes.objects.get_or_create(code=code, defaults={"label": label, "position": position})


class Migration(migrations.Migration):
    dependencies = [("refunds", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
