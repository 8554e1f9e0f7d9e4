"""Reading numbers out of text that came from outside: query strings, headers, payloads."""

import re
import uuid

# At most 18 digits: anything longer would overflow PostgreSQL's bigint.
WHOLE_NUMBER = re.compile(r"[0-9]{1,18}")


def whole_number(value):
    """The non-negative integer `value` spells in ASCII digits, or None. `str.isdigit`
    also accepts "²", which `int()` refuses, and a longer number overflows the database."""
    text = "" if value is None else str(value)
    return int(text) if WHOLE_NUMBER.fullmatch(text) else None


def uuid_or_none(value):
    """The UUID `value` spells (a money action's id in Stripe metadata or an audit event),
    or None for anything else."""
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None
