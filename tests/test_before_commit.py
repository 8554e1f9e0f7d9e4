"""The database backends' before-commit hook (`connection.run_before_commit`), and the audit
trail that joins its chain there. Runs on SQLite and PostgreSQL."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection, transaction

from audit.chain import GENESIS_HASH
from audit.models import AuditEvent
from audit.selectors import verify_audit_chain
from audit.services import record

# Both ways a transaction ends: a real COMMIT, and the release of the outermost block
# inside a test's own transaction, which stands for it.
both_kinds_of_test = pytest.mark.parametrize("really_commits", [
    pytest.param(True, marks=pytest.mark.django_db(transaction=True), id="commit"),
    pytest.param(False, marks=pytest.mark.django_db, id="test-transaction"),
])


def remember(ran, name):
    return lambda: ran.append((name, connection.in_atomic_block))


@both_kinds_of_test
def test_callbacks_run_in_order_just_before_the_commit(really_commits):
    ran = []
    with transaction.atomic():
        for name in ("first", "second", "third"):
            connection.run_before_commit(remember(ran, name))
        assert ran == []

    # In a transaction still: a callback's writes and locks are part of it.
    assert ran == [("first", True), ("second", True), ("third", True)]


@both_kinds_of_test
def test_a_rollback_drops_the_callbacks(really_commits):
    ran = []
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        connection.run_before_commit(remember(ran, "dropped"))
        1 / 0  # noqa: B018 - the error that rolls the transaction back

    with transaction.atomic():
        pass
    assert ran == []


@both_kinds_of_test
def test_a_rolled_back_savepoint_drops_only_its_own_callbacks(really_commits):
    ran = []
    with transaction.atomic():
        connection.run_before_commit(remember(ran, "outer before"))
        with pytest.raises(ZeroDivisionError), transaction.atomic():
            connection.run_before_commit(remember(ran, "inner"))
            with transaction.atomic():
                connection.run_before_commit(remember(ran, "innermost"))
            1 / 0  # noqa: B018
        with transaction.atomic():
            connection.run_before_commit(remember(ran, "kept inner"))
        connection.run_before_commit(remember(ran, "outer after"))

    assert [name for name, _ in ran] == ["outer before", "kept inner", "outer after"]


@both_kinds_of_test
def test_a_callback_that_fails_rolls_the_transaction_back(really_commits):
    def refuse():
        raise ValueError("refused before commit")

    with pytest.raises(ValueError, match="refused before commit"), transaction.atomic():
        Group.objects.create(name="written, then rolled back")
        connection.run_before_commit(refuse)

    assert not Group.objects.filter(name="written, then rolled back").exists()


@both_kinds_of_test
def test_a_callback_may_write_register_more_and_use_on_commit(really_commits):
    ran = []

    def write():
        with transaction.atomic():
            Group.objects.create(name="written before commit")
        transaction.on_commit(lambda: ran.append("after commit"))
        connection.run_before_commit(lambda: ran.append("registered by a callback"))

    with transaction.atomic():
        connection.run_before_commit(write)
        connection.run_before_commit(lambda: ran.append("second"))

    assert Group.objects.filter(name="written before commit").exists()
    if really_commits:  # a test's own transaction never commits, so no on_commit
        assert ran == ["second", "registered by a callback", "after commit"]
    else:
        assert ran == ["second", "registered by a callback"]


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_callback_runs_at_once_in_one_of_its_own():
    ran = []
    connection.run_before_commit(remember(ran, "at once"))
    assert ran == [("at once", True)]


# The audit trail on the hook ---------------------------------------------------------------


@both_kinds_of_test
def test_events_join_the_chain_at_commit_in_the_order_recorded(really_commits):
    with transaction.atomic():
        first = record(action="test.first")
        second = record(action="test.second")
        assert (first.id, second.id) == (None, None)  # not in the chain yet
        assert not AuditEvent.objects.filter(action__startswith="test.").exists()

    assert second.id == first.id + 1 and second.prev_hash == first.hash
    assert first.created_at <= second.created_at
    assert verify_audit_chain().intact


@both_kinds_of_test
def test_events_of_a_rolled_back_savepoint_never_reach_the_chain(really_commits):
    with transaction.atomic():
        kept = record(action="test.kept")
        with pytest.raises(ZeroDivisionError), transaction.atomic():
            record(action="test.dropped")
            1 / 0  # noqa: B018
        after = record(action="test.after")

    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["test.kept", "test.after"]
    assert kept.prev_hash == GENESIS_HASH and after.prev_hash == kept.hash
    assert verify_audit_chain().intact


@pytest.mark.django_db
def test_outside_a_transaction_an_event_is_written_at_once():
    event = record(action="test.at_once")
    assert AuditEvent.objects.get(pk=event.id).hash == event.hash
