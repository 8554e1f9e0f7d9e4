"""Idle sessions: each request a signed-in person makes pushes the session's end back, but
the session is written at most once a minute, not on every request (a write is a
transaction of its own on every page, a good part of what a fast page costs)."""

import time

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
