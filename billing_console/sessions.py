"""Idle sessions: each request a signed-in person makes pushes the session's end back, but
the session is written at most once a minute, not on every request (a write is a
transaction of its own on every page, a good part of what a fast page costs)."""

import functools
import time

from django.contrib.auth.backends import ModelBackend
from django.contrib.sessions.backends.db import SessionStore as DbSessionStore
from django.core.exceptions import ValidationError
from django.db import connection
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


class SessionStore(DbSessionStore):
    """Django's database sessions, the session read on every request in plain SQL: the ORM's
    building of that one statement cost more than running it. The same row, the same
    expiry check, the same decoding; writing, flushing and cycling are Django's own."""

    def load(self):
        session_key = self.session_key
        if session_key:
            with connection.cursor() as cursor:
                cursor.execute(_session_sql(), [session_key, timezone.now()])
                row = cursor.fetchone()
            if row is not None:
                return self.decode(row[0])
        self._session_key = None
        return {}


@functools.cache
def _session_sql():
    """The session row's data, unless it has expired. The table's name comes from the model
    (read once the apps are loaded)."""
    from django.contrib.sessions.models import Session

    return (f"SELECT session_data FROM {Session._meta.db_table} "  # noqa: S608 (model's table)
            "WHERE session_key = %s AND expire_date > %s")


# --- The signed-in user ------------------------------------------------------------------------


class ConsoleModelBackend(ModelBackend):
    """Django's ModelBackend, the signed-in user read on every request in plain SQL: the
    ORM's building of that one statement cost more than running it. The same row and
    fields, the same check that the account may still sign in; the session's hash is
    checked by Django as before."""

    def get_user(self, user_id):
        model, sql, attnames = _user_sql()
        try:
            user_id = model._meta.pk.to_python(user_id)
        except ValidationError:
            return None
        with connection.cursor() as cursor:
            cursor.execute(sql, [user_id])
            row = cursor.fetchone()
        if row is None:
            return None
        user = model.from_db(connection.alias, attnames, row)
        return user if self.user_can_authenticate(user) else None


@functools.cache
def _user_sql():
    """The user model, the SELECT of one user by primary key and the fields it reads."""
    from django.contrib.auth import get_user_model

    model = get_user_model()
    fields = model._meta.concrete_fields
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    sql = (f"SELECT {columns} FROM {connection.ops.quote_name(model._meta.db_table)} "  # noqa: S608
           f"WHERE {connection.ops.quote_name(model._meta.pk.column)} = %s")
    return model, sql, [field.attname for field in fields]
