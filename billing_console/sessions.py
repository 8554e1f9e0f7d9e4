"""What every signed-in request pays for its session: reading it, loading its user, and
pushing an idle session's end back.

Every page reads its session and its user. Django's database sessions and ModelBackend do
each with an ORM `get()`, whose building of the query cost twice what running it did; the
two classes here read the same rows with one plain statement each and keep everything
else (creating, saving, signing, authenticating) as Django does it.

Each request a signed-in person makes pushes the session's end back, but the session is
written at most once a minute, not on every request (a write is a transaction of its own
on every page, a good part of what a fast page costs)."""

import functools
import time

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.sessions.backends import db
from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.db import connections, router
from django.utils import timezone

# How far the idle end may lag behind the last request: the session ends between
# SESSION_COOKIE_AGE minus this and SESSION_COOKIE_AGE after it.
RENEW_SECONDS = 60
RENEWED_KEY = "_console_renewed_at"


class RenewIdleSessions:
    """After the view: mark a signed-in person's session changed when it was last saved
    `RENEW_SECONDS` or more ago, so SessionMiddleware saves it with a new expiry."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            if now - request.session.get(RENEWED_KEY, 0) >= RENEW_SECONDS:
                request.session[RENEWED_KEY] = now
        return response


SESSION_KEY_CHARS = frozenset(VALID_KEY_CHARS)


class SessionStore(db.SessionStore):
    """Django's database session store (SESSION_ENGINE), its load in one plain statement."""

    def _validate_session_key(self, key):
        """Only a key Django could have made (8 or more of its lowercase letters and
        digits) is looked up; any other cookie is no session. PostgreSQL refuses a NUL in a
        query, which a forged cookie would otherwise turn into a 500 on every page."""
        return super()._validate_session_key(key) and set(key) <= SESSION_KEY_CHARS

    def load(self):
        """The session's data, or {} (and no key) when it does not exist or has expired, as
        Django's own load answers."""
        using = router.db_for_read(self.model)
        with connections[using].cursor() as cursor:
            cursor.execute(_session_sql(self.model), [self.session_key, timezone.now()])
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return {}
        return self.decode(row[0])


@functools.cache
def _session_sql(model):
    meta = model._meta
    return (f"SELECT {meta.get_field('session_data').column} "  # noqa: S608 (model's names)
            f"FROM {meta.db_table} WHERE {meta.pk.column} = %s "
            f"AND {meta.get_field('expire_date').column} > %s")


class SessionUserBackend(ModelBackend):
    """ModelBackend, which signs people in; the signed-in user of each request is loaded
    with one plain statement instead of its ORM `get()`. Returns the same User instance,
    or None for a user who no longer exists or may not sign in (inactive)."""

    def get_user(self, user_id):
        user_model = get_user_model()
        fields = user_model._meta.concrete_fields
        using = router.db_for_read(user_model)
        with connections[using].cursor() as cursor:
            cursor.execute(_user_sql(user_model), [user_id])
            row = cursor.fetchone()
        if row is None:
            return None
        user = user_model.from_db(using, [field.attname for field in fields], row)
        return user if self.user_can_authenticate(user) else None


@functools.cache
def _user_sql(user_model):
    meta = user_model._meta
    columns = ", ".join(field.column for field in meta.concrete_fields)
    return f"SELECT {columns} FROM {meta.db_table} WHERE {meta.pk.column} = %s"  # noqa: S608
