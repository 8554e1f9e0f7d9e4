"""Events: list (by type or types, by creation time) and retrieve."""

from .forms import optional_int
from .state import page, public


def list_events(state, params):
    found = state.all("event")
    if params.get("type"):
        wanted = params["type"]
        # Stripe accepts a trailing wildcard, as in `refund.*`.
        if wanted.endswith("*"):
            found = [event for event in found if event["type"].startswith(wanted[:-1])]
        else:
            found = [event for event in found if event["type"] == wanted]
    if isinstance(params.get("types"), list):
        found = [event for event in found if event["type"] in params["types"]]
    created = params.get("created")
    if isinstance(created, dict):
        lowest = optional_int(created, "gte", 0)
        found = [event for event in found if event["created"] >= lowest]
    return page(found, params, "/v1/events")


def retrieve_event(state, params, event_id):
    return public(state.get("event", event_id))


ROUTES = [
    ("GET", r"/v1/events", list_events),
    ("GET", r"/v1/events/([^/]+)", retrieve_event),
]
