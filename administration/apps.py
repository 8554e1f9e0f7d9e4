from django.apps import AppConfig


class AdministrationConfig(AppConfig):
    name = "administration"
    verbose_name = "Administration"

    def ready(self):
        from administration.forms import (
            CURRENCY_LIMIT_LABELS,
            IntakeRuleForm,
            MoneyPolicyForm,
            ReasonCodeForm,
            UserForm,
        )
        from audit.subjects import register_fields
        from billing_console.forms import form_labels
        from cases.models import IntakeRule, Priority

        # An audit event's page reads what the admins' changes kept before and after by
        # the labels of the forms they were made with.
        register_fields("currency_limit", labels=CURRENCY_LIMIT_LABELS,
                        amounts=CURRENCY_LIMIT_LABELS)
        register_fields("role_limit", labels={"limit": "Limit"}, amounts={"limit"})
        register_fields("money_policy", labels=form_labels(MoneyPolicyForm))
        register_fields("reason_code", labels=form_labels(ReasonCodeForm))
        register_fields("user", labels={**form_labels(UserForm),
                                        "failed_sign_in_records_cleared": "Failed sign-ins "
                                                                          "cleared"})
        register_fields("intake_rule", labels=form_labels(IntakeRuleForm),
                        choices={"match": dict(IntakeRule.Match.choices)})
        register_fields("sla_targets", labels={
            priority.value: f"{priority.label}: hours to first response, to resolution"
            for priority in Priority})
