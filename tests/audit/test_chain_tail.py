"""The chain's tail: events deleted from the end of the trail leave a chain that still links,
so each verification keeps the head it reached and the next one proves it is still there."""

from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from audit import triggers
from audit.chain import GENESIS_HASH, ChainHead, event_hash, verify_chain
from audit.exports import export_line
from audit.models import AuditEvent, ChainVerification
from audit.services import record
from tests.conftest import signed_in


def on_postgres(test):
    """Committed for real, as in production: the trigger is switched off for everyone."""
    test = pytest.mark.django_db(transaction=True)(test)
    return pytest.mark.postgres(pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: disables the append-only trigger as a superuser would "
               "(set DATABASE_URL)")(test))


def _record(count, start=0):
    return [record(action="test.tail", object_type="thing", object_id=n, reason=f"n={n}")
            for n in range(start, start + count)]


def _delete_newest(count):
    """What someone with superuser access could do: switch the append-only trigger off,
    delete the newest events, and switch it back on."""
    trigger = f"{triggers.TABLE}_no_update_delete"
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {triggers.TABLE} DISABLE TRIGGER {trigger}")
        try:
            newest = list(AuditEvent.objects.order_by("-id").values_list("id", flat=True)
                          [:count])
            cursor.execute(f"DELETE FROM {triggers.TABLE} WHERE id = ANY(%s)",  # noqa: S608
                           [newest])
        finally:
            cursor.execute(f"ALTER TABLE {triggers.TABLE} ENABLE TRIGGER {trigger}")


@on_postgres
def test_deleting_the_newest_events_fails_the_next_verification_naming_the_head(capsys):
    events = _record(6)
    call_command("audit_verify")
    head = events[-1]
    assert f"up to event #{head.id} with hash {head.hash}" in capsys.readouterr().out

    _delete_newest(3)

    with pytest.raises(CommandError) as failure:
        call_command("audit_verify")
    assert f"broken at event #{head.id}:" in str(failure.value)
    assert head.hash in str(failure.value) and "deleted from the end" in str(failure.value)
    verification = ChainVerification.objects.order_by("-id").first()
    assert not verification.intact and verification.broken_id == head.id
    assert head.hash in verification.problem
    assert (verification.checked, verification.last_verified_id) == (3, events[2].id)


@on_postgres
def test_a_cut_trail_keeps_failing_even_after_it_grows_again():
    """New events take the deleted ids, linked to what is left: the links hold, but the
    event at the proven head's id is not the one proven."""
    events = _record(5)
    call_command("audit_verify")
    _delete_newest(2)
    with pytest.raises(CommandError):
        call_command("audit_verify")

    _record(4, start=100)

    with pytest.raises(CommandError, match=rf"broken at event #{events[-1].id}: it is not"):
        call_command("audit_verify")
    assert events[-1].hash in ChainVerification.objects.order_by("-id").first().problem


@on_postgres
def test_finance_sees_the_missing_head_on_the_trail(finance):
    events = _record(4)
    call_command("audit_verify")
    _delete_newest(1)
    with pytest.raises(CommandError):
        call_command("audit_verify")

    page = signed_in(finance).get("/audit/").content.decode()

    assert f"Chain broken at event #{events[-1].id}" in page
    assert events[-1].hash in page


@pytest.mark.django_db
def test_a_trail_that_grows_normally_still_verifies(capsys):
    _record(3)
    call_command("audit_verify")
    grown = _record(4, start=3)

    call_command("audit_verify")

    assert "7 events verified" in capsys.readouterr().out
    latest = ChainVerification.objects.order_by("-id").first()
    assert latest.intact
    assert (latest.last_verified_id, latest.last_verified_hash) == (grown[-1].id, grown[-1].hash)


@pytest.mark.django_db
def test_a_broken_check_does_not_become_the_head_to_prove():
    """The head to prove is the latest intact check's: a failed check's own head (shorter)
    must not let the next check pass."""
    events = _record(3)
    call_command("audit_verify")
    ChainVerification.objects.create(finished_at=ChainVerification.objects.get().finished_at,
                                     checked=1, last_verified_id=events[0].id,
                                     last_verified_hash=events[0].hash, broken_id=events[1].id,
                                     problem="a failed check")

    call_command("audit_verify")

    latest = ChainVerification.objects.order_by("-id").first()
    assert latest.intact and latest.last_verified_id == events[-1].id


def test_verify_chain_names_a_missing_head_by_id_and_hash():
    """The walk itself, on events never saved."""
    chain, previous = [], GENESIS_HASH
    for number in range(1, 4):
        event = AuditEvent(id=number, created_at=datetime(2026, 1, number, tzinfo=UTC),
                           action="test", prev_hash=previous)
        event.hash = previous = event_hash(event)
        event.export_line = export_line(event)
        chain.append(event)
    head = ChainHead(3, chain[2].hash)

    intact = verify_chain(chain, expected_head=head)
    cut = verify_chain(chain[:2], expected_head=head)

    assert intact.intact and intact.last_verified_hash == chain[2].hash
    assert (cut.broken_id, cut.checked, cut.last_verified_id) == (3, 2, 2)
    assert chain[2].hash in cut.problem and cut.last_verified_hash == chain[1].hash
