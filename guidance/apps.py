from django.apps import AppConfig


class GuidanceConfig(AppConfig):
    name = "guidance"

    def ready(self):
        from billing_console.context_processors import register_count
        from guidance.selectors import open_question_count

        # The navigation counts the questions waiting for an answer.
        register_count("guidance:questions", open_question_count)
