from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"

    def ready(self):
        from audit.subjects import register_names
        from cases import webhooks  # noqa: F401  (registers the Zendesk webhook handlers)
        from cases.selectors import case_names, customer_names

        # The audit trail names a case by its ticket, and a Stripe customer its summaries
        # wrote by id by the requester of a case tied to it.
        register_names("case", case_names)
        register_names("customer", customer_names)
