from django.apps import AppConfig


class GuidanceConfig(AppConfig):
    name = "guidance"

    def ready(self):
        from audit.subjects import register_fields, register_names
        from billing_console.context_processors import register_count
        from billing_console.forms import register_parameter_labels
        from billing_console.names import register_audit_actions
        from cases.models import Category
        from guidance.selectors import open_question_count, playbook_titles
        from guidance.services import audit_actions

        # The navigation counts the questions waiting for an answer; the audit trail names
        # guidance's actions, and a playbook by its title, in words; a refusal names a
        # query as the pages label it.
        register_count("guidance:questions", open_question_count)
        register_audit_actions(audit_actions)
        register_names("playbook", playbook_titles)
        register_fields("playbook", choices={"category": dict(Category.choices)})
        register_parameter_labels("guidance", {"q": "Search playbooks",
                                               "against": "Compare with"})
