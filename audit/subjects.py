"""What an audit event is about, read by the app that owns it. An app registers, from its
AppConfig.ready, a reader for its object type (money actions, for the approval shown beside
their events), a namer of many at once (a page of the trail names each row's object in
one query per type) and the words of the fields its events keep before and after (an event's
page reads them as a table), so that the trail, the lowest app, imports none above it."""

from dataclasses import dataclass, field

# object_type → a function of the event's object_id returning the object, or None.
_READERS = {}
# object_type → a function of object ids returning {object id: name} for those it knows.
_NAMERS = {}


def register_subject(object_type, read):
    _READERS[object_type] = read


def subject_of(event):
    """The object the event is about as its app reads it now; None when no app reads that
    type, or the object is gone."""
    read = _READERS.get(event.object_type)
    return read(event.object_id) if read else None


def register_names(object_type, name_many):
    """`name_many(object_ids)` → {object id: name}, for the objects of `object_type` it
    knows ("customer" is the Stripe customer ids written in summaries)."""
    _NAMERS[object_type] = name_many


def names_of(object_type, object_ids):
    """{object id: name} of those of `object_ids` the owning app names; {} when no app
    names that type, or there are no ids."""
    name_many = _NAMERS.get(object_type)
    return name_many(set(object_ids)) if name_many and object_ids else {}


@dataclass(frozen=True)
class FieldWords:
    """How the fields of an object type's before and after read: `labels` {field: label},
    `choices` {field: {value: label}} (a state, a category), `amounts` the fields in minor
    units of the event's currency, `people` the fields holding a username, `dates` those in
    Unix seconds, `hidden` those no person reads (Stripe's ids of what the event names in
    words elsewhere), left to the raw record."""

    labels: dict = field(default_factory=dict)
    choices: dict = field(default_factory=dict)
    amounts: frozenset = frozenset()
    people: frozenset = frozenset()
    dates: frozenset = frozenset()
    hidden: frozenset = frozenset()


# object_type → its FieldWords.
_FIELDS = {}


def register_fields(object_type, *, labels=None, choices=None, amounts=(), people=(),
                    dates=(), hidden=()):
    """Name the fields the events about `object_type` keep in `before` and `after`, at any
    depth (a money action's `params` are fields too): see `FieldWords`."""
    _FIELDS[object_type] = FieldWords(labels=dict(labels or {}), choices=dict(choices or {}),
                                      amounts=frozenset(amounts), people=frozenset(people),
                                      dates=frozenset(dates), hidden=frozenset(hidden))


def fields_of(object_type):
    """The `FieldWords` registered for `object_type`, empty when none are."""
    return _FIELDS.get(object_type) or FieldWords()
