"""Events: list (by type or types, by creation time) and retrieve."""

from .state import created_within, page, public


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
    return page(created_within(found, params), params, "/v1/events")


def retrieve_event(state, params, event_id):
    return public(state.get("event", event_id))


ROUTES = [
    ("GET", r"/v1/events", list_events),
    ("GET", r"/v1/events/([^/]+)", retrieve_event),
]
