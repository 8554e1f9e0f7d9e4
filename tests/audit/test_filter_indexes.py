"""Every audit filter, alone and with a period, finds the same events as the plain query it
replaced (JSON read inside `after`, role matched as text, no id range), run without any
index, on a generated year of events."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Q
from django.http import QueryDict
from django.utils import timezone

from audit.filters import AuditFilters
from audit.models import AuditEvent
from audit.selectors import audit_event_page, filtered_events
from bench import audit_trail
from billing_console.dates import start_of_day

pytestmark = pytest.mark.postgres
EVENTS = 4_000


@pytest.fixture
def trail(db):
    audit_trail._generate(EVENTS)
    return AuditEvent.objects.all()


def _months_ago(months):
    return timezone.now().date() - timedelta(days=30 * months)


def _queries(trail):
    since, until = _months_ago(8), _months_ago(7)
    money = trail.exclude(customer="").order_by("id").first()
    alone = ["action=refund.requested&amount_min=100", "customer=cus_nomatch",
             f"customer={money.customer}", f"customer={money.stripe_object_id}",
             f"actor={money.requested_by}", "actor=specialist07", "actor=finance2",
             "role=finance", "role=billing_specialist", "role=admin", "reason=courtesy",
             "case=4242", "ticket=4242", f"ticket={money.zendesk_ticket_id}",
             "amount_min=1000", "amount_max=20", "currency=JPY",
             "source=stripe", "kind=refund", "kind=credit_memo", "kind=audit", "kind=nothing"]
    period = f"since={since}&until={until}"
    return [*alone, period, *(f"{period}&{query}" for query in alone),
            f"since={_months_ago(1)}", f"until={_months_ago(11)}"]


def _reference(query):
    """The rows the filters found before they read columns and indexes: the old
    conditions, verbatim in meaning."""
    values = QueryDict(query)
    condition = Q()
    if values.get("since"):
        condition &= Q(created_at__gte=start_of_day(AuditFilters.from_query(values).since))
    if values.get("until"):
        until = AuditFilters.from_query(values).until
        condition &= Q(created_at__lt=start_of_day(until + timedelta(days=1)))
    if actor := values.get("actor"):
        condition &= Q(actor_username=actor) | Q(after__requested_by=actor)
    if customer := values.get("customer"):
        condition &= Q(stripe_object_id=customer) | Q(after__customer=customer)
    lookups = {"role": "actor_role__contains", "action": "action",
               "reason": "after__reason_code", "case": "case_id",
               "ticket": "zendesk_ticket_id", "currency": "currency", "source": "source"}
    condition &= Q(**{lookup: values[name] for name, lookup in lookups.items()
                      if values.get(name)})
    if kind := values.get("kind"):
        condition &= Q(action__startswith=f"{kind}.")
    low, high = AuditFilters.from_query(values).amount_range()
    condition &= Q(amount__gte=low) if low is not None else Q()
    condition &= Q(amount__lte=high) if high is not None else Q()
    return condition


def _without_indexes(queryset):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("SET LOCAL enable_indexonlyscan = off")
        try:
            return list(queryset.values_list("id", flat=True))
        finally:
            cursor.execute("RESET enable_indexscan")
            cursor.execute("RESET enable_bitmapscan")
            cursor.execute("RESET enable_indexonlyscan")


@pytest.mark.parametrize("viewer_name", ["finance", "specialist"])
def test_each_filter_finds_what_the_unindexed_query_found(trail, finance, specialist,
                                                          viewer_name):
    viewer = {"finance": finance, "specialist": specialist}[viewer_name]
    differing = []
    for query in _queries(trail):
        filters = AuditFilters.from_query(QueryDict(query))
        found = list(filtered_events(viewer=viewer, filters=filters).order_by("-id")
                     .values_list("id", flat=True))
        visible = filtered_events(viewer=viewer)
        expected = _without_indexes(visible.filter(_reference(query)).order_by("-id"))
        page, _ = audit_event_page(viewer=viewer, filters=filters)
        if found != expected or [event.id for event in page] != expected[:len(page)]:
            differing.append(query)
    assert differing == []


def test_the_generated_trail_exercises_every_filter(trail):
    """A filter that matched nothing on both sides would prove nothing."""
    assert trail.exclude(requested_by="").exists() and trail.exclude(customer="").exists()
    assert trail.filter(reason_code="courtesy").exists() and trail.filter(kind="refund").exists()
    assert trail.filter(currency="JPY").exists() and trail.filter(source="stripe").exists()
    assert trail.filter(actor_role="finance").exists()
    assert trail.filter(actor_role="admin,finance").exists()  # a person with two roles
