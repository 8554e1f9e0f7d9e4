"""The list of money actions (`GET /api/v1/money-actions/`): who may read it, each filter
alone and together, keyset pages with every filter kept, bad parameters answered with
`{message, code}`, and every page answered by walking one index."""

from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing_console.api import keyset_page
from cases.models import StripeLink
from money_actions.models import MoneyAction, State
from money_actions.selectors import LIST_ORDER, money_actions_filtered
from tests.cases.factories import make_case
from tests.conftest import api_client

URL = "/api/v1/money-actions/"


def _action(case, requester, *, kind="refund", state=State.SUCCEEDED, customer="cus_Ava",
            days_ago=0, amount=2_500):
    action = MoneyAction.objects.create(
        kind=kind, state=state, case=case, stripe_customer_id=customer,
        stripe_target_id="ch_Target", amount=amount, currency="usd", reason_code="duplicate",
        note="Charged twice in March.", requested_by=requester)
    MoneyAction.objects.filter(pk=action.pk).update(
        created_at=timezone.now() - timedelta(days=days_ago))
    return action


@pytest.fixture
def actions(specialist, second_specialist):
    """Five actions on two cases, by two requesters, over a month."""
    ava = make_case(stripe_customer_id="cus_Ava", stripe_link=StripeLink.VERIFIED)
    bo = make_case(stripe_customer_id="cus_Bo", stripe_link=StripeLink.VERIFIED)
    return {
        "old_refund": _action(ava, specialist, days_ago=30),
        "waiting_memo": _action(ava, specialist, kind="credit_memo",
                                state=State.PENDING_APPROVAL, days_ago=10),
        "bo_refund": _action(bo, second_specialist, customer="cus_Bo", days_ago=5),
        "waiting_refund": _action(bo, second_specialist, customer="cus_Bo",
                                  state=State.PENDING_APPROVAL, days_ago=1),
        "new_refund": _action(ava, specialist),
    }


def _listed(user, query=""):
    response = api_client(user).get(f"{URL}?{query}")
    assert response.status_code == 200, response.json()
    return response.json()


def _names(actions, body):
    by_id = {str(action.pk): name for name, action in actions.items()}
    return [by_id[row["id"]] for row in body["results"]]


def _day(days_ago):
    return (timezone.now() - timedelta(days=days_ago)).date().isoformat()


# --- who may read it -------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["specialist", "finance", "admin"])
def test_the_roles_that_see_money_actions_see_them_all_newest_first(role, actors, actions):
    body = _listed(actors[role])

    assert _names(actions, body) == ["new_refund", "waiting_refund", "bo_refund",
                                     "waiting_memo", "old_refund"]
    assert body["next"] is None
    first = body["results"][0]
    assert (first["kind"], first["state"], first["amount"], first["currency"],
            first["requested_by"], first["case"]) == (
        "refund", State.SUCCEEDED, 2_500, "usd", "specialist",
        actions["new_refund"].case_id)


@pytest.mark.parametrize("role", ["tier2", "outsider"])
def test_tier2_and_anyone_without_a_role_are_refused(role, actors, actions):
    response = api_client(actors[role]).get(URL)

    assert response.status_code == 403 and response.json()["code"] == "permission_denied"


def test_no_token_is_a_401(client, actions):
    assert client.get(URL).status_code == 401


# --- filters ---------------------------------------------------------------------------------


@pytest.mark.parametrize("query, expected", [
    ("state=pending_approval", ["waiting_refund", "waiting_memo"]),
    ("kind=credit_memo", ["waiting_memo"]),
    ("customer=cus_Bo", ["waiting_refund", "bo_refund"]),
    ("customer=cus_Nobody", []),
    ("requester=specialist2", ["waiting_refund", "bo_refund"]),
    ("requester=nobody-of-that-name", []),
    (f"since={_day(5)}", ["new_refund", "waiting_refund", "bo_refund"]),
    (f"until={_day(5)}", ["bo_refund", "waiting_memo", "old_refund"]),
    (f"since={_day(10)}&until={_day(5)}", ["bo_refund", "waiting_memo"]),
    ("state=pending_approval&kind=refund", ["waiting_refund"]),
    ("state=pending_approval&requester=specialist", ["waiting_memo"]),
    (f"kind=refund&customer=cus_Ava&since={_day(31)}&until={_day(29)}", ["old_refund"]),
])
def test_each_filter_alone_and_together(query, expected, finance, actions):
    assert _names(actions, _listed(finance, query)) == expected


def test_the_case_filter(finance, actions):
    case_id = actions["bo_refund"].case_id

    assert _names(actions, _listed(finance, f"case={case_id}")) == ["waiting_refund",
                                                                     "bo_refund"]


# --- pages -----------------------------------------------------------------------------------


def test_pages_follow_one_another_with_the_filters_kept(finance, actions):
    first = _listed(finance, "kind=refund&limit=2")
    assert _names(actions, first) == ["new_refund", "waiting_refund"]

    url = urlsplit(first["next"])
    assert "kind=refund" in url.query and "limit=2" in url.query
    second = _listed(finance, url.query)
    assert _names(actions, second) == ["bo_refund", "old_refund"]
    assert second["next"] is None


def test_actions_made_in_the_same_instant_are_each_listed_once(finance, specialist):
    case = make_case()
    made = [_action(case, specialist) for _ in range(5)]
    MoneyAction.objects.update(created_at=timezone.now())

    seen, query = [], "limit=2"
    while query is not None:
        body = _listed(finance, query)
        seen += [row["id"] for row in body["results"]]
        query = urlsplit(body["next"]).query if body["next"] else None

    assert sorted(seen) == sorted(str(action.pk) for action in made)


# --- bad parameters --------------------------------------------------------------------------


@pytest.mark.parametrize("query", [
    "state=bogus", "kind=gift", "case=abc", "case=0", "since=2026-13-01", "until=yesterday",
    "limit=0", "limit=101", "customer=" + "x" * 256,
])
def test_a_parameter_that_does_not_fit_its_schema_is_a_400(query, finance, actions):
    response = api_client(finance).get(f"{URL}?{query}")

    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "invalid"


@pytest.mark.parametrize("query, code", [
    (f"since={_day(1)}&until={_day(5)}", "until"),
    ("since=1999-12-31", "since"),
    ("until=2100-01-01", "until"),
    ("after=not-a-cursor", "cursor"),
    ("after=WyJ4Il0=", "cursor"),  # ["x"]: one value where the order has two
    ("after=WyJ4IiwgIngiXQ==", "cursor"),  # ["x", "x"]: neither a time nor an id
])
def test_a_period_or_cursor_the_rules_refuse_is_a_409(query, code, finance, actions):
    response = api_client(finance).get(f"{URL}?{query}")

    assert response.status_code == 409, response.json()
    assert set(response.json()) == {"message", "code"} and response.json()["code"] == code


def test_a_nul_in_a_filter_is_refused(finance, actions):
    response = api_client(finance).get(URL, {"customer": "cus_\x00"})

    assert response.status_code == 400


# --- indexes -----------------------------------------------------------------------------------

ROWS = 20_000
TABLE = MoneyAction._meta.db_table


@pytest.fixture
def many(specialist, second_specialist):
    """ROWS actions over a year, as the list meets them at scale: most succeeded refunds,
    some of every kind and state, on a thousand cases and customers, by two requesters."""
    if connection.vendor != "postgresql":
        pytest.skip("these plans are PostgreSQL's; set DATABASE_URL to run this")
    cases = [make_case() for _ in range(5)]
    with connection.cursor() as cursor:
        cursor.execute(f"""
            INSERT INTO {MoneyAction._meta.db_table} (
                id, kind, state, case_id, stripe_customer_id, stripe_target_id, target_name,
                amount, currency, params, reason_code, note, customer_reply, policy_verdicts,
                requested_by_id, decision_note, stripe_object_id, stripe_request_id,
                failure_reason, submit_attempts, finance_flag, created_at, updated_at)
            SELECT gen_random_uuid(),
                   CASE WHEN n %% 10 = 0 THEN 'credit_memo' ELSE 'refund' END,
                   CASE WHEN n %% 50 = 5 THEN 'pending_approval' WHEN n %% 7 = 0 THEN 'failed'
                        ELSE 'succeeded' END,
                   (ARRAY[%s, %s, %s, %s, %s])[n %% 5 + 1], 'cus_' || (n %% 1000), 'ch_' || n,
                   '', 100 + n %% 9000, 'usd', '{{}}', 'duplicate', 'Charged twice.', '', '[]',
                   CASE WHEN n %% 3 = 0 THEN %s ELSE %s END, '', '', '', '', 0, '',
                   now() - n * interval '26 minutes', now()
            FROM generate_series(1, {ROWS}) AS n""",  # noqa: S608 (the model's table)
                       [*(case.pk for case in cases), second_specialist.pk, specialist.pk])
        cursor.execute(f"ANALYZE {MoneyAction._meta.db_table}")
    return cases


def _plans(finance, query):
    """The list's answer to `query`, and how PostgreSQL ran its statements on the money
    actions table (EXPLAIN ANALYZE, as JSON)."""
    with CaptureQueriesContext(connection) as queries:
        body = _listed(finance, query)
    plans = []
    with connection.cursor() as cursor:
        for captured in queries.captured_queries:
            if f'FROM "{TABLE}"' in captured["sql"]:
                cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {captured['sql']}")
                plans.append(cursor.fetchone()[0][0]["Plan"])
    return body, plans


def _scans(plan):
    """The nodes of `plan` that read the money actions table."""
    if plan.get("Relation Name") == TABLE:
        yield plan
    for child in plan.get("Plans", []):
        yield from _scans(child)


def _rows_read(plan):
    """The table's rows the plan read: those it kept and those it read and left out."""
    return sum(scan["Actual Rows"] * scan["Actual Loops"] + scan.get("Rows Removed by Filter", 0)
               + scan.get("Rows Removed by Index Recheck", 0) for scan in _scans(plan))


@pytest.mark.postgres
@pytest.mark.parametrize("query", [
    "", "state=pending_approval", "state=succeeded", "kind=credit_memo", "case={case}",
    "customer=cus_7", "requester=specialist2", "requester=specialist",
    f"since={_day(200)}&until={_day(100)}", f"customer=cus_7&since={_day(300)}",
    "state=pending_approval&kind=refund", f"kind=credit_memo&since={_day(250)}",
])
def test_a_page_reads_few_rows_however_deep_and_whatever_the_filter(query, finance, many):
    """A page of 10 reads an index from its cursor: the rows it reads are about a page,
    never the rows before the cursor nor every match, and never the whole table."""
    query = "&".join(filter(None, [query.format(case=many[2].pk), "limit=10"]))
    page, plans = _plans(finance, query)
    deeper, deeper_plans = _plans(finance, f"{query}&after={_deep_cursor(query)}")

    assert page["next"] and deeper["results"], "the filter should match many pages"
    for plan in plans + deeper_plans:
        assert all(scan["Node Type"] != "Seq Scan" for scan in _scans(plan)), plan
        assert _rows_read(plan) <= 60, plan


def _deep_cursor(query):
    """The cursor of the list's page after most of the matching actions."""
    filters = QueryDict(query)
    matching = money_actions_filtered(
        state=filters.get("state"), kind=filters.get("kind"), case_id=filters.get("case"),
        customer=filters.get("customer"), since=_date(filters.get("since")),
        until=_date(filters.get("until")),
        requester=filters.get("requester"))
    _, cursor = keyset_page(matching, order=LIST_ORDER, cursor=None,
                            size=matching.count() * 9 // 10)
    return cursor


def _date(text):
    return date.fromisoformat(text) if text else None
