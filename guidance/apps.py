from django.apps import AppConfig


class GuidanceConfig(AppConfig):
    name = "guidance"

    def ready(self):
        from billing_console.context_processors import register_count
        from billing_console.names import register_audit_actions
        from guidance.selectors import open_question_count
        from guidance.services import audit_actions

        # The navigation counts the questions waiting for an answer; the audit trail names
        # guidance's actions in words.
        register_count("guidance:questions", open_question_count)
        register_audit_actions(audit_actions)
