from django.apps import AppConfig


class FinanceConfig(AppConfig):
    name = "finance"
    verbose_name = "Finance"

    def ready(self):
        from billing_console.forms import register_parameter_labels

        # A refusal of the summary's or a report's query names it as the page labels it.
        register_parameter_labels("finance", {"since": "From", "until": "To",
                                              "chart_currency": "Charts in",
                                              "class": "Show", "item": "Choose"})
