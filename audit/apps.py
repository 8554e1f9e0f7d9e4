from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit trail"

    def ready(self):
        from audit import signals, triggers  # noqa: F401  (signals connects the receivers)
        from audit.filters import FILTER_LABELS
        from billing_console.db import roles
        from billing_console.forms import register_parameter_labels

        # The console's database role may only read and append to the trail; a refusal of
        # a filter names it as the trail's page does.
        roles.register_append_only(triggers.TABLE)
        register_parameter_labels("audit", {**FILTER_LABELS, "before": "Older events"})
