from django.apps import AppConfig


class MoneyActionsConfig(AppConfig):
    name = "money_actions"

    def ready(self):
        from audit.subjects import register_subject
        from money_actions.selectors import action_for_audit

        # An audit event about a money action shows its approval beside it.
        register_subject("money_action", action_for_audit)
