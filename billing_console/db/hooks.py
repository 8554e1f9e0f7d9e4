"""Work that runs just before a transaction commits, after everything else it did.

Django runs callbacks after COMMIT (`transaction.on_commit`) but has nothing before it.
Some work has to be a transaction's last: the audit trail joins its hash chain there, so
that the chain's lock is always taken after every row lock of the transaction, and two
transactions never wait for each other's locks in opposite orders (a deadlock).

This module imports no app: apps register their own callbacks.
"""

from django.db import transaction
from django.db.transaction import TransactionManagementError


class BeforeCommitMixin:
    """Mixed into a backend's `DatabaseWrapper`; adds `run_before_commit(func)`.

    - Inside a transaction, `func()` runs right before the outermost atomic block's real
      COMMIT, in the order of registration, as part of the transaction: it may query, lock,
      open nested atomic blocks, call `transaction.on_commit` and register more callbacks
      (those run too, after it).
    - A rollback drops it; so does rolling back a savepoint that was active when it was
      registered, as Django does with `on_commit`.
    - Outside any atomic block (autocommit), `func()` runs at once, in an atomic block of
      its own.
    - Before the first callback, the checks that would otherwise wait for COMMIT run
      (PostgreSQL's deferred foreign keys), so the row locks they take come first.
    - If a callback raises, the transaction is rolled back and the error comes out of the
      atomic block's exit (a lock conflict there is an `OperationalError` like any other).
    - Under Django's `TestCase` the test's own atomic blocks never commit. The outermost
      block inside them stands for the transaction (as it does for `atomic(durable=True)`):
      its release runs the callbacks.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.run_before_commit_callbacks = []  # [(savepoint ids active then, func)]
        self.running_before_commit = False
        self.rolled_back_savepoint = None

    def run_before_commit(self, func):
        if not callable(func):
            raise TypeError("run_before_commit()'s callback must be a callable.")
        if self.in_transaction():
            self.run_before_commit_callbacks.append((set(self.savepoint_ids), func))
        elif self.in_atomic_block or self.get_autocommit():
            with transaction.atomic(using=self.alias):
                func()
        else:
            raise TransactionManagementError(
                "run_before_commit() cannot be used in manual transaction management.")

    def in_transaction(self):
        """Inside an atomic block of the application's (a test's own blocks do not count),
        or running the callbacks of one."""
        return self.running_before_commit or any(
            not block._from_testcase for block in self.atomic_blocks)

    def commit(self):
        try:
            self._run_before_commit_callbacks()
        except BaseException:
            self.rollback()
            raise
        super().commit()

    def savepoint_commit(self, sid):
        # Only under a TestCase: releasing the application's outermost block stands for
        # its commit (Atomic has already popped the block when it releases the savepoint),
        # unless Atomic is only releasing a savepoint it has just rolled back to.
        stands_for_commit = (self.in_atomic_block and not self.in_transaction()
                             and sid != self.rolled_back_savepoint)
        if stands_for_commit:
            try:
                if self._run_before_commit_callbacks():
                    self.check_constraints_at_once(False)  # the test goes on
            except BaseException:
                self.savepoint_rollback(sid)
                raise
        super().savepoint_commit(sid)

    def savepoint_rollback(self, sid):
        super().savepoint_rollback(sid)
        self.rolled_back_savepoint = sid
        self.run_before_commit_callbacks = [
            (sids, func) for sids, func in self.run_before_commit_callbacks if sid not in sids]

    def rollback(self):
        self.run_before_commit_callbacks = []
        super().rollback()

    def close(self):
        self.run_before_commit_callbacks = []
        super().close()

    def check_constraints_at_once(self, at_once):
        """Whether constraints that wait for COMMIT are checked at once from now on. A
        backend that defers some (PostgreSQL) does it here: see its `DatabaseWrapper`."""

    def _run_before_commit_callbacks(self):
        """Run (and forget) the callbacks in order; True if there were any.

        First the checks that would wait for COMMIT run, so that the row locks they take
        come before the callbacks' locks. Atomic has already left the outermost block when
        it commits, so the connection is marked as in one meanwhile: a callback's own
        atomic block is then a savepoint, and its on_commit waits for the COMMIT.
        """
        if self.running_before_commit or not self.run_before_commit_callbacks:
            return False
        self.check_constraints_at_once(True)
        was_in_atomic_block = self.in_atomic_block
        self.running_before_commit = self.in_atomic_block = True
        try:
            while self.run_before_commit_callbacks:
                _, func = self.run_before_commit_callbacks.pop(0)
                func()
        finally:
            self.running_before_commit = False
            self.in_atomic_block = was_in_atomic_block
        if self.needs_rollback:
            raise TransactionManagementError(
                "A run_before_commit() callback left the transaction marked for rollback.")
        return True
