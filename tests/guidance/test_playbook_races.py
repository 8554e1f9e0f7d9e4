"""Playbooks saved at the same moment, from real threads with their own connections, on
PostgreSQL: two new ones of one title each get a slug of their own (never a 500), and of
identical saves of one playbook only the one that made a version answers 201."""

import pytest

from guidance import services
from guidance.models import Playbook, PlaybookVersion
from tests.conftest import api_client, signed_in
from tests.refunds.conftest import needs_postgres
from tests.refunds.test_concurrency import all_at_once

pytestmark = [needs_postgres, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
CALLERS = 10
SAVE = "/api/v1/playbook-versions/"
NEW = {"title": "Refund timing", "category": "refund_request",
       "body": "Refunds arrive in 5-10 business days."}


def test_new_playbooks_of_one_title_saved_at_once_each_get_a_slug(specialist):
    def save(i):
        if i % 2:  # the editor's page and the API share the service
            return signed_in(specialist).post("/guidance/playbooks/new/", NEW)
        return api_client(specialist).post(SAVE, NEW, format="json")

    responses = all_at_once(save, CALLERS)

    assert sorted(r.status_code for r in responses) == \
        [201] * (CALLERS // 2) + [302] * (CALLERS // 2), [r.content[:200] for r in responses]
    slugs = set(Playbook.objects.values_list("slug", flat=True))
    assert len(slugs) == CALLERS and "refund-timing" in slugs
    assert slugs == {"refund-timing", *(f"refund-timing-{n}" for n in range(2, CALLERS + 1))}
    assert PlaybookVersion.objects.count() == CALLERS


def test_identical_saves_at_once_make_one_version_and_one_201(specialist):
    playbook = services.playbook_save(author=specialist, **NEW)
    edit = {**NEW, "playbook": playbook.slug, "body": "Refunds arrive within 10 days."}

    responses = all_at_once(
        lambda _: api_client(specialist).post(SAVE, edit, format="json"), CALLERS)

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * (CALLERS - 1) + [201], [r.content[:200] for r in responses]
    assert playbook.versions.count() == 2
    assert {r.json()["versions"][0]["number"] for r in responses} == {2}
