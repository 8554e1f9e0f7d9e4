import json

from django import template
from django.urls import reverse
from django.utils.text import capfirst

from billing_console.access import may_open
from billing_console.integrations.stripe.types import tax_included, tax_names
from billing_console.money import format_amount
from billing_console.names import (
    actor_name,
    in_sentence,
    in_words,
    person_name,
    reason_label,
    stripe_ids_named,
    stripe_name,
    stripe_status,
    ticket_name,
)
from billing_console.text import quoted

register = template.Library()


@register.simple_tag(takes_context=True)
def viewer_url(context, url_name, *args):
    """`{% viewer_url 'cases:case' case_id as url %}`: the page's address when the page's
    reader may open it (`access.may_open`), else "", so that a page shows the rest as text
    rather than a link to a refusal (an admin reads an approval's case but may not open
    case pages)."""
    url = reverse(url_name, args=args)
    return url if may_open(context["request"].user, url) else ""


@register.filter
def money(amount, currency):
    """{{ event.amount|money:event.currency }}"""
    if amount is None or amount == "":
        return ""
    return format_amount(amount, currency)


@register.filter
def duration(value):
    """A timedelta as "2 h 05 min" or "3 d 4 h"."""
    minutes = int(value.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


@register.filter
def words(identifier):
    """"currency_limit" -> "Currency limit": a rule or code name, readable."""
    return in_words(identifier)


@register.filter
def reason(code):
    """{{ action.reason_code|reason }}: "courtesy" -> "Courtesy", "requested_by_customer" ->
    "Requested by the customer"; any reason code, Stripe's or the console's."""
    return reason_label(code)


@register.filter
def status(code):
    """{{ invoice.status|status }}: "past_due" -> "Past due", any Stripe status in words."""
    return stripe_status(code)


@register.filter(name="in_sentence")
def sentence(label):
    """{{ action.get_state_display|in_sentence }}: "Submitting to Stripe" -> "submitting to
    Stripe", a label set inside a sentence, its proper names kept."""
    return in_sentence(label)


@register.filter
def ids_named(text, names=None):
    """{{ event.body|ids_named:stripe_names }}: text the console wrote with Stripe ids in
    it, each named (`names`: {id: name}) or said as what it is ("an invoice")."""
    return stripe_ids_named(text, names)


@register.filter(name="quoted")
def quoted_filter(value):
    """{{ query|quoted }}: what someone typed, quoted in a sentence, cut to its first 40
    characters when longer (`billing_console.text.quoted`)."""
    return quoted(value)


@register.filter(name="stripe_name")
def stripe_name_filter(obj):
    """{{ invoice|stripe_name }}: a Stripe object as a field or cell names it, "Invoice
    ACME-0012", "Draft invoice of 30 Nov 2026 · 162.50 USD" (`names.stripe_name`, with
    no article)."""
    return capfirst(stripe_name(obj).removeprefix("the "))


@register.filter
def ticket(ticket_id):
    """{{ case.zendesk_ticket_id|ticket }} -> "Ticket #6", the case's name for people."""
    return ticket_name(ticket_id)


@register.filter
def person(user):
    """{{ note.author|person }} -> "Sam Specialist": a person by their full name, else their
    username; "" for no one."""
    return person_name(user)


@register.filter
def actor(user):
    """{{ event.actor|actor }} -> "Sam Specialist", or "Billing Console" where the console
    itself acted (no person)."""
    return actor_name(user)


@register.filter
def pretty_json(value):
    """A JSON value, indented for reading; "" for none. Autoescaped like any text."""
    if value in (None, "", {}, []):
        return ""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


@register.filter
def tax_rates(taxes, rates):
    """{{ line.taxes|tax_rates:invoice.tax_rates }}: "20% VAT", "10% GST included", or "—"
    for no tax."""
    names = ", ".join(tax_names(taxes, rates or {}))
    return f"{names} included" if tax_included(taxes) else names or "—"
