"""What an audit event is about, read by the app that owns it. An app registers a reader for
its object type from its AppConfig.ready (money actions, for the approval shown beside their
events), so that the trail, the lowest app, imports none above it."""

# object_type → a function of the event's object_id returning the object, or None.
_READERS = {}


def register_subject(object_type, read):
    _READERS[object_type] = read


def subject_of(event):
    """The object the event is about as its app reads it now; None when no app reads that
    type, or the object is gone."""
    read = _READERS.get(event.object_type)
    return read(event.object_id) if read else None
