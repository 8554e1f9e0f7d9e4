"""Demo tickets for `make run`, created through the Zendesk API like any other client would.

63 tickets across the seven billing categories, most escalated to "Billing Escalations"
(tag `billing_escalation`), the rest with the front line. Requesters are the demo
customers shared with the Stripe sandbox, plus a few people Stripe has never heard of and
a shared mailbox used under two names. Escalated tickets carry a conversation: the
customer's messages and Tier 2's internal notes. Some tickets carry the "Stripe customer
id" custom field, others leave the console to match the requester's email.

Every ticket has an `external_id` (`console-demo-NN`); seeding again creates only the
tickets that are missing, so it is safe to run twice, or after an interrupted run.
"""

import base64
import json
import urllib.error
import urllib.request
from urllib.parse import quote, urlsplit

from billing_console.integrations.demo_customers import demo_customers

TICKETS_PER_CATEGORY = 9
EXTERNAL_ID_PREFIX = "console-demo-"
STRIPE_FIELD_TITLE = "Stripe customer id"
ESCALATION_GROUP = "Billing Escalations"
FRONT_LINE_GROUP = "Support"

# (tag, subject, first message, Tier 2's note)
CATEGORIES = (
    ("refund_request", "Refund for last month's renewal",
     "I didn't use the service last month and would like a refund of the renewal.",
     "Customer asks for a full refund of the latest renewal; usage is near zero."),
    ("duplicate_charge", "Charged twice for the same invoice",
     "My card statement shows two identical charges on the same day.",
     "Two charges with the same amount a minute apart; please check for a duplicate."),
    ("invoice_dispute", "Invoice amount doesn't match the quote",
     "The invoice is higher than what sales quoted us. Please correct it.",
     "Quote attached by the customer shows a lower seat price than the invoice."),
    ("plan_change", "Downgrade mid-cycle: what happens to the difference?",
     "We moved to the smaller plan last week. Will we get credit for the difference?",
     "Downgrade happened mid-cycle; customer expects proration as a credit."),
    ("cancellation", "Please cancel and stop charging us",
     "We asked to cancel before the renewal date but were charged anyway.",
     "Cancellation request was sent before renewal per the customer's email trail."),
    ("tax_vat", "VAT charged although we gave our VAT number",
     "We are a registered business in the EU and should not be charged VAT.",
     "Customer supplied a VAT id after the invoice was finalised."),
    ("failed_payment", "Payment failed but the card is fine",
     "Our payment failed and the account is now past due. The card works elsewhere.",
     "Three failed attempts; the customer updated the card yesterday."),
)
FOLLOW_UPS = (
    "Any update on this? It's been a few days.",
    "Thanks for looking into it. I can send more details if needed.",
)
UNKNOWN_TO_STRIPE = (
    ("Pat Moreno", "pat.moreno@example.org"),
    ("Lee Nakamura", "lee.nakamura@example.net"),
    ("Robin Achterberg", "robin@freelance.example"),
)
TIER2_AGENTS = (
    ("Noor Haddad (Tier 2)", "noor.haddad@tier2.example.com"),
    ("Marek Dvorak (Tier 2)", "marek.dvorak@tier2.example.com"),
)
PRIORITIES = ("normal", "high", "low", "urgent")
ESCALATED_STATUSES = ("open", "pending", "open", "new")
FRONT_LINE_STATUSES = ("open", "solved", "pending")


def seed_demo(api_url: str, email: str, token: str,
              stripe_customers: dict[str, str]) -> dict[str, int]:
    """Create the demo tickets that are not there yet. `stripe_customers` maps an email to
    its Stripe customer id. An escalated ticket is assigned to the Tier 2 agent who
    escalated it. Returns the Tier 2 agents' Zendesk user ids by email."""
    api = _Api(api_url, email, token)
    existing = _existing_external_ids(api)
    groups = {g["name"]: g["id"] for g in api.get("/api/v2/groups.json")["groups"]}
    stripe_field = _stripe_field_id(api)
    agents = [_agent_id(api, name, agent_email) for name, agent_email in TIER2_AGENTS]
    # Each requester looked up (or made) once: the seed spends Zendesk's rate limit too.
    requesters = {}
    for number, spec in enumerate(_ticket_specs(stripe_customers)):
        external_id = f"{EXTERNAL_ID_PREFIX}{number:02d}"
        if external_id not in existing:
            _create_ticket(api, spec, external_id, groups, stripe_field, agents[number % 2],
                           requesters)
    return {agent_email: agent for (_, agent_email), agent in zip(TIER2_AGENTS, agents,
                                                                   strict=True)}


def _requesters():
    """The demo customers, a mailbox shared by two names, and people unknown to Stripe
    (after the mailbox, so that no "Charged twice" ticket, the 37th, is theirs: each has a
    duplicate behind it)."""
    customers = demo_customers()
    shared_name, shared_email = customers[0]
    shared = [(f"Accounts Payable ({shared_name})", shared_email)]
    return customers + shared + list(UNKNOWN_TO_STRIPE)


def _ticket_specs(stripe_customers):
    requesters = _requesters()
    specs = []
    for index in range(len(CATEGORIES) * TICKETS_PER_CATEGORY):
        category = CATEGORIES[index % len(CATEGORIES)]
        name, requester_email = requesters[index % len(requesters)]
        specs.append({
            "category": category,
            "requester": {"name": name, "email": requester_email},
            "escalated": index % 4 != 3,
            "priority": PRIORITIES[index % len(PRIORITIES)],
            # Two tickets in three name the customer; the rest leave it to the email.
            "stripe_customer": stripe_customers.get(requester_email) if index % 3 else None,
            "index": index,
        })
    return specs


def _create_ticket(api, spec, external_id, groups, stripe_field, agent_id, requesters):
    """`requesters`: the Zendesk user ids found so far, by email; added to."""
    tag, subject, message, note = spec["category"]
    escalated = spec["escalated"]
    # The customer wrote in: they are the requester and the author of the first message.
    name, email = spec["requester"]["name"], spec["requester"]["email"]
    if email not in requesters:
        requesters[email] = _user_id(api, name, email, "end-user")
    requester_id = requesters[email]
    ticket = {
        "subject": subject,
        "comment": {"body": message, "author_id": requester_id},
        "requester_id": requester_id,
        "external_id": external_id,
        "priority": spec["priority"],
        "tags": [tag, "billing_escalation"] if escalated else [tag],
        "group_id": groups[ESCALATION_GROUP if escalated else FRONT_LINE_GROUP],
    }
    if escalated:
        ticket["assignee_id"] = agent_id
    if spec["stripe_customer"] and stripe_field:
        ticket["custom_fields"] = [{"id": stripe_field, "value": spec["stripe_customer"]}]
    created = api.post("/api/v2/tickets.json", {"ticket": ticket})["ticket"]
    _add_conversation(api, created, spec, note, agent_id)


def _add_conversation(api, ticket, spec, note, agent_id):
    index = spec["index"]
    path = f"/api/v2/tickets/{ticket['id']}.json"
    statuses = ESCALATED_STATUSES if spec["escalated"] else FRONT_LINE_STATUSES
    if spec["escalated"]:
        api.put(path, {"ticket": {"comment": {"body": note, "public": False,
                                              "author_id": agent_id}}})
    if index % 2 == 0:
        follow_up = FOLLOW_UPS[index % len(FOLLOW_UPS)]
        api.put(path, {"ticket": {"comment": {"body": follow_up, "public": True,
                                              "author_id": ticket["requester_id"]}}})
    api.put(path, {"ticket": {"status": statuses[index % len(statuses)]}})


def _existing_external_ids(api):
    """Every demo ticket already there, read from the incremental export."""
    found = set()
    path = "/api/v2/incremental/tickets/cursor.json?start_time=0"
    while True:
        page = api.get(path)
        found.update(t["external_id"] for t in page["tickets"] if t.get("external_id"))
        if page["end_of_stream"]:
            return found
        path = f"/api/v2/incremental/tickets/cursor.json?cursor={quote(page['after_cursor'])}"


def _stripe_field_id(api):
    fields = api.get("/api/v2/ticket_fields.json")["ticket_fields"]
    return next((f["id"] for f in fields if f["title"] == STRIPE_FIELD_TITLE), None)


def _agent_id(api, name, agent_email):
    return _user_id(api, name, agent_email, "agent")


def _user_id(api, name, email, role):
    found = api.get(f"/api/v2/users/search.json?query={quote('email:' + email)}")["users"]
    if found:
        return found[0]["id"]
    user = {"name": name, "email": email, "role": role}
    return api.post("/api/v2/users.json", {"user": user})["user"]["id"]


class _Api:
    """Just enough HTTP for seeding: JSON in, JSON out, API-token auth."""

    def __init__(self, api_url, email, token):
        if urlsplit(api_url).scheme not in ("http", "https"):
            raise ValueError(f"api_url must be http(s): {api_url!r}")
        self._base = api_url.rstrip("/")
        credentials = base64.b64encode(f"{email}/token:{token}".encode()).decode()
        self._headers = {"Authorization": f"Basic {credentials}",
                         "Content-Type": "application/json"}

    def get(self, path):
        return self._call("GET", path)

    def post(self, path, body):
        return self._call("POST", path, body)

    def put(self, path, body):
        return self._call("PUT", path, body)

    def _call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        # The scheme was checked to be http(s) in __init__.
        request = urllib.request.Request(  # noqa: S310
            self._base + path, data=data, method=method, headers=self._headers
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")[:500]
            raise RuntimeError(f"Zendesk seeding: {method} {path} -> {error.code}: {detail}"
                               ) from error
