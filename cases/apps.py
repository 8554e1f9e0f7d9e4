from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"

    def ready(self):
        from audit.subjects import register_fields, register_names
        from billing_console.forms import register_parameter_labels
        from cases import webhooks  # noqa: F401  (registers the Zendesk webhook handlers)
        from cases.models import Category, Priority, ResolutionCode, State, StripeLink
        from cases.selectors import case_names, customer_names

        # The audit trail names a case by its ticket, and a Stripe customer its summaries
        # wrote by id by the requester of a case tied to it; an event's page reads what a
        # case's events keep before and after in the case page's words.
        register_names("case", case_names)
        register_names("customer", customer_names)
        register_fields("case", labels={
            "assignee": "Assignee", "code": "Resolution", "link": "Stripe customer link",
            "posted_to_zendesk": "Also posted to Zendesk", "write_back": "Zendesk note",
            "merged_into_ticket_id": "Merged into", "follow_up_ticket_id": "Follow-up ticket",
        }, choices={
            "state": dict(State.choices), "category": dict(Category.choices),
            "priority": dict(Priority.choices), "code": dict(ResolutionCode.choices),
            "link": dict(StripeLink.choices),
        }, people={"assignee"})
        # A refusal of the queue's filters or the case page's query names them as the pages
        # label them.
        register_parameter_labels("cases", {
            "q": "Search", "state": "State", "assignee": "Assignee", "category": "Category",
            "priority": "Priority", "sla": "SLA", "stripe": "Stripe", "sort": "Sort",
            "after": "Next page", "before": "Older events", "ticket": "Zendesk ticket",
            "case": "Cases selected"})
