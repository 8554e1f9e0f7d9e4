"""The audit trail is append-only and hash-chained, and the verifier names a broken link."""

import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, close_old_connections, connection, transaction

from audit import triggers
from audit.models import AuditEvent
from audit.selectors import verify_audit_chain
from audit.services import record


def _record_some(count=3):
    return [
        record(action="test.event", object_type="thing", object_id=n, amount=1000 + n,
               currency="usd", before={"n": n}, after={"n": n + 1, "note": "zürich ü"},
               ip="2001:db8::1", reason=f"because {n}")
        for n in range(count)
    ]


@pytest.mark.django_db
def test_each_event_links_to_the_previous_events_hash():
    first, second, third = _record_some()
    assert first.prev_hash == "0" * 64
    assert second.prev_hash == first.hash
    assert third.prev_hash == second.hash
    assert verify_audit_chain().intact


@pytest.mark.django_db
def test_update_of_an_audit_row_is_refused():
    event = _record_some(1)[0]
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(reason="rewritten")


@pytest.mark.django_db
def test_delete_of_an_audit_row_is_refused():
    event = _record_some(1)[0]
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()


@pytest.mark.postgres
@pytest.mark.django_db
def test_truncate_of_the_audit_table_is_refused_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("TRUNCATE triggers exist on PostgreSQL only; set DATABASE_URL to run this")
    # No row is written first: PostgreSQL refuses TRUNCATE while the insert's deferred
    # foreign-key checks are pending, which would hide what the trigger does.
    with (pytest.raises(DatabaseError, match="append-only"), transaction.atomic(),
          connection.cursor() as cursor):
        cursor.execute(f"TRUNCATE {triggers.TABLE}")


def _lift_triggers():
    """What an attacker with database access would do first. Runs inside the test's
    transaction, so the triggers come back when it rolls back."""
    with connection.cursor() as cursor:
        for statement in triggers.DROP[connection.vendor]:
            cursor.execute(statement)


def _tamper(event_id, reason):
    _lift_triggers()
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {triggers.TABLE} SET reason = %s WHERE id = %s",  # noqa: S608
                       [reason, event_id])


@pytest.mark.django_db
def test_verify_command_passes_an_intact_chain(capsys):
    _record_some(5)
    call_command("audit_verify")
    assert "5 events verified" in capsys.readouterr().out


@pytest.mark.django_db
def test_changing_one_byte_makes_verify_name_exactly_that_event():
    events = _record_some(5)
    target = events[2]
    _tamper(target.id, target.reason[:-1] + "X")  # "because 2" -> "because X"
    with pytest.raises(CommandError, match=rf"broken at event #{target.id}:"):
        call_command("audit_verify")
    report = verify_audit_chain()
    assert (report.broken_id, report.checked) == (target.id, 2)


@pytest.mark.django_db
def test_a_rehashed_forgery_breaks_the_next_link():
    events = _record_some(3)
    forged = AuditEvent.objects.get(pk=events[1].pk)
    forged.reason = "forged"
    from audit.chain import event_hash
    from audit.exports import export_line

    forged.hash = event_hash(forged)
    _lift_triggers()
    # A thorough forger: the hash and the export line made again for the new content.
    AuditEvent.objects.filter(pk=forged.pk).update(reason="forged", hash=forged.hash,
                                                   export_line=export_line(forged))
    assert verify_audit_chain().broken_id == events[2].id


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_writers_leave_an_intact_chain():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL for concurrent writers; set DATABASE_URL to run this")
    start = threading.Barrier(50)
    errors = []

    def write(n):
        try:
            start.wait()
            record(action="test.concurrent", object_type="writer", object_id=n)
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    report = verify_audit_chain()
    assert report.intact and report.checked == 50
    assert len(set(AuditEvent.objects.values_list("prev_hash", flat=True))) == 50
