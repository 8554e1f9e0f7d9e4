"""Where the handover starts: the end of the person's last shift (their last recorded
action before this sign-in), or a time they choose, checked."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from audit.services import record
from handover.selectors import last_shift_end, shift_since
from tests.cases.factories import make_case
from tests.conftest import PASSWORD, signed_in

URL = "/handover/"


def _signs_in(user):
    return record(action="auth.login", actor=user, object_type="user", object_id=user.pk)


def test_the_last_shift_ends_with_the_last_thing_done_before_the_latest_sign_in(
        specialist, second_specialist):
    _signs_in(specialist)
    record(action="case.note_added", actor=specialist)
    signed_out = record(action="auth.logout", actor=specialist)
    record(action="case.note_added", actor=second_specialist)  # someone else's, later
    _signs_in(specialist)
    record(action="case.assigned", actor=specialist)  # this shift's
    assert last_shift_end(specialist) == signed_out.created_at


def test_with_nothing_before_this_sign_in_the_page_goes_back_one_shift(specialist):
    now = timezone.now()
    _signs_in(specialist)
    since = shift_since(specialist, now=now)
    assert since.at == now - timedelta(hours=8)
    assert "8 hours ago" in since.why


def test_it_never_goes_back_further_than_seven_days(specialist):
    record(action="auth.logout", actor=specialist)
    _signs_in(specialist)
    now = timezone.now() + timedelta(days=9)  # nine days later: the last shift is too old
    since = shift_since(specialist, now=now)
    assert since.at == now - timedelta(days=7)
    assert "7 days ago" in since.why


def _signs_in_on_the_page(client, user):
    response = client.post("/accounts/login/", {"username": user.username,
                                                "password": PASSWORD})
    assert response.status_code == 302


def test_the_page_says_since_when_and_why(client, specialist):
    _signs_in_on_the_page(client, specialist)
    record(action="case.note_added", actor=specialist)
    client.post("/accounts/logout/")
    _signs_in_on_the_page(client, specialist)
    last = last_shift_end(specialist)
    response = client.get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert f"Since <time datetime=\"{last.isoformat()}\">" in page
    assert "the end of your last shift" in page


def test_a_chosen_time_replaces_the_last_shift(specialist):
    typed = (timezone.now() - timedelta(hours=2)).strftime("%Y-%m-%d %H:%M")
    chosen = datetime.fromisoformat(typed).replace(tzinfo=UTC)
    before = make_case(subject="Opened before the chosen time")
    after = make_case(subject="Opened after the chosen time")
    for case, at in ((before, chosen - timedelta(minutes=1)),
                     (after, chosen + timedelta(minutes=1))):
        type(case).objects.filter(pk=case.pk).update(created_at=at)
    response = signed_in(specialist).get(URL, {"since": typed})
    page = response.content.decode()
    assert response.status_code == 200
    assert f"Since <time datetime=\"{chosen.isoformat()}\">{typed} UTC</time>, the time you " \
           "chose" in page
    assert after.subject in page and before.subject not in page


@pytest.mark.parametrize("typed,message", [
    ("yesterday", "That is not a time: write it as YYYY-MM-DD HH:MM, in UTC"),
    ("2026-13-01 10:00", "That is not a time"),
    ("2026-05-01 25:00", "That is not a time"),
    ("2026-05-01", "That is not a time"),
    ("9999-01-01 00:00", "is still to come"),
    ("2001-01-01 00:00", "more than 7 days ago"),
])
def test_a_bad_time_is_a_message_not_a_500(specialist, typed, message):
    response = signed_in(specialist).get(URL, {"since": typed})
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    assert "Showing the changes since the end of your last shift instead." in page
    assert 'id="opened"' in page  # the lists are still there


def test_a_time_in_the_browsers_format_is_read_too(specialist):
    moment = datetime.now(UTC) - timedelta(hours=2)
    response = signed_in(specialist).get(URL, {"since": moment.strftime("%Y-%m-%dT%H:%M")})
    assert response.status_code == 200
    assert moment.strftime("%Y-%m-%d %H:%M") + " UTC" in response.content.decode()


def test_a_nul_in_the_time_is_refused_before_the_page(specialist):
    response = signed_in(specialist).get(URL, {"since": "2026-05-01\x00 10:00"})
    assert response.status_code == 400
    assert "holds a character no record can contain" in response.content.decode()
