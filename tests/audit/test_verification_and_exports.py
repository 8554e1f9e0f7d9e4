"""Finance sees when the chain was last verified and how far, and every finance page
raises a break; a large export is written in the background with its progress, then
downloaded."""

import pytest
from django.db import connection

from audit import triggers
from audit.models import AuditEvent, AuditExport, ChainVerification
from audit.services import record
from audit.tasks import verify_audit_chain_task
from tests.conftest import signed_in


def break_the_chain(event):
    """Tamper with a stored event as an attacker with the database would: lift the
    triggers (inside the test's transaction, so they come back), then edit."""
    with connection.cursor() as cursor:
        for statement in triggers.DROP[connection.vendor]:
            cursor.execute(statement)
        cursor.execute(f"UPDATE {triggers.TABLE} SET reason = 'edited' WHERE id = %s",  # noqa: S608
                       [event.id])


def test_the_nightly_check_is_kept_and_shown_on_the_trail(db, finance):
    for number in range(3):
        record(action="case.note", reason=f"note {number}", case_id=1)

    result = verify_audit_chain_task()

    assert result["intact"] is True
    verification = ChainVerification.objects.get()
    assert verification.last_verified_id == AuditEvent.objects.order_by("id").last().id
    page = signed_in(finance).get("/audit/").content.decode()
    assert f"intact up to event #{verification.last_verified_id}" in page
    assert 'id="chain-alert"' not in page


def test_a_broken_chain_is_raised_on_every_finance_page(db, finance, specialist):
    events = [record(action="case.note", reason=f"note {n}", case_id=1) for n in range(3)]
    break_the_chain(events[1])

    result = verify_audit_chain_task()

    assert result["intact"] is False and result["broken_id"] == events[1].id
    client = signed_in(finance)
    for path in ("/audit/", "/approvals/", "/cases/"):
        page = client.get(path).content.decode()
        assert 'id="chain-alert"' in page, path
        assert f"broken at event #{events[1].id}" in page
    assert 'id="chain-alert"' not in signed_in(specialist).get("/cases/").content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_large_export_runs_in_the_background_and_is_downloaded(finance, eager_tasks,
                                                                 monkeypatch, settings,
                                                                 tmp_path):
    settings.VAR_DIR = tmp_path
    monkeypatch.setattr("audit.views.EXPORT_INLINE_ROWS", 5)
    for number in range(12):
        record(action="refund.succeeded", amount=100 + number, currency="usd", case_id=1,
               reason="=cmd" if number == 0 else "")
    client = signed_in(finance)

    response = client.post("/audit/exports/", {"kind": "refund"})

    export = AuditExport.objects.get()
    assert response.status_code == 302 and response.url == f"/audit/exports/{export.pk}/"
    assert (export.status, export.total) == (AuditExport.Status.DONE, 12)
    page = client.get(response.url).content.decode()
    assert "Ready: 12 of 12 rows" in page and 'id="export-download"' in page
    download = client.get(f"/audit/exports/{export.pk}/download/")
    lines = b"".join(download.streaming_content).decode().splitlines()
    assert len(lines) == 13 and any("'=cmd" in line for line in lines)
    exported = AuditEvent.objects.get(action="audit.exported")
    assert "kind=refund" in exported.reason and "background" in exported.reason


def test_a_small_export_streams_straight_away(db, finance):
    record(action="refund.succeeded", amount=100, currency="usd", case_id=1)

    response = signed_in(finance).post("/audit/exports/", {"currency": "USD"})

    assert response.status_code == 302
    assert response.url == "/api/v1/audit-events/export.csv?currency=USD"
    assert not AuditExport.objects.exists()


def test_someone_elses_export_is_not_found(db, finance, admin_user):
    export = AuditExport.objects.create(requested_by=finance, status="done")

    from tests.conftest import make_user
    other = make_user("finance2", "finance")
    assert signed_in(other).get(f"/audit/exports/{export.pk}/").status_code == 404


def test_specialists_cannot_export(db, specialist):
    client = signed_in(specialist)

    assert client.post("/audit/exports/", {}).status_code == 403


def test_an_export_counts_and_writes_the_trail_as_it_stood_when_it_began(db, finance, settings,
                                                                         tmp_path, monkeypatch):
    """Events written while an export runs are not in it, so its total and its file agree."""
    from audit import exports

    settings.VAR_DIR = tmp_path
    monkeypatch.setattr(exports, "CHUNK", 2)
    for number in range(5):
        record(action="refund.succeeded", amount=100 + number, currency="usd", case_id=1)
    export = AuditExport.objects.create(requested_by=finance, query="kind=refund")
    real_progress = exports._progress

    def while_others_write(export, **fields):
        record(action="refund.succeeded", amount=1, currency="usd", case_id=1)
        real_progress(export, **fields)

    monkeypatch.setattr(exports, "_progress", while_others_write)
    exports.write_export(export.pk)

    export.refresh_from_db()
    rows = exports.export_path(export).read_text().splitlines()[1:]
    assert (export.status, export.total, export.written, len(rows)) == ("done", 5, 5, 5)


def test_an_export_delivered_twice_leaves_one_whole_file(db, finance, settings, tmp_path):
    from audit import exports

    settings.VAR_DIR = tmp_path
    for number in range(3):
        record(action="refund.succeeded", amount=100 + number, currency="usd", case_id=1)
    export = AuditExport.objects.create(requested_by=finance, query="")
    first = exports.write_export(export.pk)
    AuditExport.objects.filter(pk=export.pk).update(status=AuditExport.Status.RUNNING)

    second = exports.write_export(export.pk)

    assert first is second is None
    assert [path.name for path in (tmp_path / "exports").iterdir()] == [f"audit-{export.pk}.csv"]
    assert len(exports.export_path(export).read_text().splitlines()) == 4


def test_a_ready_export_whose_file_is_gone_says_so(db, finance, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    export = AuditExport.objects.create(requested_by=finance, status="done", total=1)

    response = signed_in(finance).get(f"/audit/exports/{export.pk}/download/", follow=True)

    assert response.status_code == 200
    assert "is no longer on the server" in response.content.decode()
