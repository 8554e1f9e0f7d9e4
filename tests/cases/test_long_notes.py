"""Notes on the case page: one length limit, whoever writes them, and long text folded in
the timeline so that one entry cannot make the page many screens tall."""

import re

import pytest

from billing_console.exceptions import ApplicationError
from billing_console.notes import NOTE_MAX_CHARS
from cases.models import CaseEvent, ResolutionCode
from cases.services import case_add_note, case_resolve
from tests.cases.factories import make_case
from tests.conftest import signed_in

TOO_LONG = "x" * (NOTE_MAX_CHARS + 1)


def test_a_console_note_longer_than_the_limit_is_refused_and_nothing_kept(specialist):
    case = make_case()

    response = signed_in(specialist).post(f"/cases/{case.pk}/notes/", {"body": TOO_LONG})

    assert response.status_code == 400
    assert "at most 5000 characters" in response.content.decode()
    assert not CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.NOTE).exists()


def test_a_console_note_at_the_limit_is_kept(specialist):
    case = make_case()

    response = signed_in(specialist).post(f"/cases/{case.pk}/notes/",
                                          {"body": "y" * NOTE_MAX_CHARS})

    assert response.status_code == 302
    assert len(CaseEvent.objects.get(case=case, kind=CaseEvent.Kind.NOTE).body) == NOTE_MAX_CHARS


def test_the_note_box_tells_the_browser_the_limit(specialist):
    page = signed_in(specialist).get(f"/cases/{make_case().pk}/").content.decode()

    assert re.search(r'<textarea name="body"[^>]*maxlength="5000"', page)


@pytest.mark.parametrize("write", [
    lambda case, actor: case_add_note(case=case, body=TOO_LONG, actor=actor),
    lambda case, actor: case_resolve(case=case, code=ResolutionCode.EXPLAINED,
                                     summary=TOO_LONG, actor=actor),
    lambda case, actor: case_resolve(case=case, code=ResolutionCode.EXPLAINED,
                                     summary="Explained.", public_reply=TOO_LONG, actor=actor),
], ids=["note", "summary", "public reply"])
def test_the_services_refuse_text_over_the_limit_whoever_calls_them(specialist, write):
    case = make_case()

    with pytest.raises(ApplicationError, match="at most 5,000 characters") as refused:
        write(case, specialist)

    assert refused.value.code == "note_too_long" and refused.value.status == 400


def test_a_long_note_renders_folded_with_its_first_lines_shown(specialist):
    case = make_case()
    lines = [f"Line {number} of a long note." for number in range(1, 400)]
    CaseEvent.objects.create(case=case, kind=CaseEvent.Kind.NOTE, actor=specialist,
                             body="\n".join(lines), created_at=case.created_at)

    page = signed_in(specialist).get(f"/cases/{case.pk}/").content.decode()

    folded = re.search(r'<details class="folded">\s*<summary>(.*?)</summary>', page, re.S)
    assert folded, "the long note is not folded"
    assert "Line 1 of a long note." in folded.group(1)
    assert "Line 7 of" not in folded.group(1)
    assert "Show all" in folded.group(1)
    assert "Line 399 of a long note." in page  # the whole note, behind the fold


def test_a_single_line_of_twenty_thousand_characters_is_folded_too(specialist):
    case = make_case()
    CaseEvent.objects.create(case=case, kind=CaseEvent.Kind.NOTE, actor=specialist,
                             body="z" * 20_000, created_at=case.created_at)

    page = signed_in(specialist).get(f"/cases/{case.pk}/").content.decode()

    summary = re.search(r"<summary>(.*?)</summary>", page, re.S).group(1)
    assert summary.count("z") <= 600


def test_a_short_note_is_shown_whole_and_not_folded(specialist):
    case = make_case()
    CaseEvent.objects.create(case=case, kind=CaseEvent.Kind.NOTE, actor=specialist,
                             body="Checked Stripe: one charge.", created_at=case.created_at)

    page = signed_in(specialist).get(f"/cases/{case.pk}/").content.decode()

    assert "Checked Stripe: one charge." in page
    assert 'class="folded"' not in page
