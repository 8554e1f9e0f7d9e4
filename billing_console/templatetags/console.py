from django import template

from billing_console.money import format_amount

register = template.Library()


@register.filter
def money(amount, currency):
    """{{ event.amount|money:event.currency }}"""
    if amount is None or amount == "":
        return ""
    return format_amount(amount, currency)
