from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit trail"

    def ready(self):
        from audit import signals, triggers  # noqa: F401  (signals connects the receivers)
        from billing_console.db import roles

        # The console's database role may only read and append to the trail.
        roles.register_append_only(triggers.TABLE)
