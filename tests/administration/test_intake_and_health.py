"""The intake rule and SLA targets, edited and audited; the integrations' health at a
glance, with the way to the page that retries."""

import re

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from billing_console.integrations import set_aside
from billing_console.integrations.models import InboundEvent
from cases.models import IntakeRule, Priority, SlaTarget
from cases.services import sla_deadlines
from tests.conftest import signed_in

SLA_FORM = {"low_first_response": "24", "low_resolution": "120",
            "normal_first_response": "8", "normal_resolution": "72",
            "high_first_response": "4", "high_resolution": "24",
            "urgent_first_response": "1", "urgent_resolution": "6"}


def test_the_intake_page_shows_the_rule_and_every_priority(admin_user):
    page = signed_in(admin_user).get("/manage/intake/").content.decode()
    assert 'value="billing_escalation"' in page
    for priority in Priority:
        assert f"{priority.label}: hours to first response" in page


def test_the_intake_rule_is_changed_to_a_group_and_audited(admin_user):
    response = signed_in(admin_user).post("/manage/intake/rule/",
                                          {"match": "group", "group_id": "360000000401"})
    assert response.status_code == 302
    rule = IntakeRule.objects.get()
    assert (rule.match, rule.group_id) == ("group", 360_000_000_401)
    event = AuditEvent.objects.get(action="intake.rule_set")
    assert event.before["match"] == "tag" and event.after["match"] == "group"


@pytest.mark.parametrize("form, message", [
    ({"match": "group"}, "Give the Zendesk group"),
    ({"match": "tag", "tag": "two words"}, "no spaces"),
    ({"match": "everything"}, "Select a valid choice"),
])
def test_an_incomplete_intake_rule_is_refused(admin_user, form, message):
    response = signed_in(admin_user).post("/manage/intake/rule/", form)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert IntakeRule.objects.get().match == "tag"


def test_sla_targets_apply_to_cases_opened_from_now_on(admin_user):
    response = signed_in(admin_user).post("/manage/intake/sla/",
                                          {**SLA_FORM, "urgent_resolution": "5"})
    assert response.status_code == 302
    assert SlaTarget.objects.get(priority="urgent").resolution_hours == 5
    opened = timezone.now()
    assert sla_deadlines("urgent", opened)[1] == opened + timezone.timedelta(hours=5)
    event = AuditEvent.objects.get(action="sla.targets_set")
    assert event.after["urgent"] == [1, 5]


@pytest.mark.parametrize("changes, message", [
    ({"high_first_response": "30"}, "the first response cannot be due after the resolution"),
    ({"low_resolution": "0"}, "greater than or equal to 1"),
    ({"normal_resolution": "9000"}, "from 1 to 8,760"),
    ({"urgent_first_response": "soon"}, "Enter a whole number"),
])
def test_impossible_sla_targets_are_refused(admin_user, changes, message):
    before = list(SlaTarget.objects.values_list("priority", "resolution_hours"))
    response = signed_in(admin_user).post("/manage/intake/sla/", {**SLA_FORM, **changes})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert list(SlaTarget.objects.values_list("priority", "resolution_hours")) == before


def test_the_overview_counts_what_waits_and_links_to_where_it_is_retried(admin_user):
    set_aside.set_aside(source="zendesk", kind="ticket", external_id=42,
                        error=ValueError("bad"))
    InboundEvent.objects.create(source="stripe", event_id="evt_1", event_type="charge.refunded",
                                payload={}, status=InboundEvent.Status.GAVE_UP, attempts=8)
    page = signed_in(admin_user).get("/manage/").content.decode()
    health = page.split('id="integrations"')[1].split("</section>")[0]
    assert "<dt>Tickets set aside</dt><dd>1</dd>" in health
    assert "<dt>Webhook events that gave up</dt><dd>1</dd>" in health
    assert 'href="/manage/integrations/"' in health


def test_the_overview_says_each_fact_once_and_lists_every_section(admin_user):
    """Before: "Last Zendesk sync 0 minutes ago" beside "Last synced 0 minutes ago", and
    "What you manage here" left out Reply templates and Integrations."""
    page = signed_in(admin_user).get("/manage/").content.decode()
    health = page.split('id="integrations"')[1].split("</section>")[0]
    sections = page.split('id="sections-heading"')[1].split("</section>")[0]

    assert re.findall(r"<dt>([^<]*)</dt>", health) == [
        "Last synced with Zendesk", "Tickets set aside", "Webhook events that gave up"]
    assert re.findall(r"<li><a href=\"[^\"]+\">([^<]+)</a>", sections) == [
        label for label, _ in _tabs(page)][1:]


def _tabs(page):
    """(label, current) of each tab of the administration's navigation on `page`."""
    tabs = page.split('<nav class="tabs" aria-label="Administration">')[1].split("</nav>")[0]
    return [(label, "aria-current" in attributes)
            for attributes, label in re.findall(r"<a ([^>]*)>([^<]+)</a>", tabs)]


def test_the_integrations_page_is_a_tab_of_the_administration_with_sync_now(admin_user):
    page = signed_in(admin_user).get("/manage/").content.decode()
    assert re.search(r'<a href="/manage/integrations/"[^>]*>Integrations</a>', page)

    page = signed_in(admin_user).get("/manage/integrations/").content.decode()

    assert ("Integrations", True) in _tabs(page)
    assert re.search(r'<a href="/manage/"[^>]*aria-current="page">Admin', page)
    assert '<button type="submit">Sync now</button>' in page


def test_every_tab_of_the_administration_keeps_its_navigation(admin_user):
    client = signed_in(admin_user)
    tabs = re.findall(r'<nav class="tabs" aria-label="Administration">(.*?)</nav>',
                      client.get("/manage/").content.decode(), re.DOTALL)[0]
    for href, label in re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', tabs):
        page = client.get(href).content.decode()
        assert (label, True) in _tabs(page), href
        assert re.search(r'<a href="/manage/"[^>]*aria-current="page">Admin', page), href
