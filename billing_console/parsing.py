"""Reading what came from outside: numbers in query strings, headers and payloads, JSON
documents (the API's request bodies, webhooks) and the cursors of keyset-paged lists."""

import base64
import json
import re
import uuid

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# At most 18 digits: anything longer could overflow PostgreSQL's bigint. Every id the
# console keeps (its own, Zendesk's tickets, users and groups) is a bigint.
WHOLE_NUMBER_MAX_DIGITS = 18
WHOLE_NUMBER_MAX = 10**WHOLE_NUMBER_MAX_DIGITS - 1
WHOLE_NUMBER = re.compile(rf"[0-9]{{1,{WHOLE_NUMBER_MAX_DIGITS}}}")


def whole_number(value):
    """The non-negative integer `value` spells in ASCII digits, or None. `str.isdigit`
    also accepts "²", `int()` reads "١٣", "1_3" and " 13 ", and a longer number overflows
    the database: `too_many_digits` tells that one apart, to be refused for its size."""
    text = "" if value is None else str(value)
    return int(text) if WHOLE_NUMBER.fullmatch(text) else None


def too_many_digits(value):
    """Whether `value` is ASCII digits, more of them than `whole_number` reads: a number,
    but too large for any the console keeps (a refusal says so, not that it is no number)."""
    text = "" if value is None else str(value)
    return len(text) > WHOLE_NUMBER_MAX_DIGITS and text.isascii() and text.isdigit()


BIGINT_MAX = 2**63 - 1


def is_bigint(value):
    """Whether the JSON value `value` is a whole number PostgreSQL's bigint holds (a
    cursor's id, a number in a body): True and False are not numbers here, though Python
    counts them as ints."""
    return isinstance(value, int) and not isinstance(value, bool) \
        and -BIGINT_MAX - 1 <= value <= BIGINT_MAX


def uuid_or_none(value):
    """The UUID `value` spells (a money action's id in Stripe metadata or an audit event),
    or None for anything else."""
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


# No request or webhook of ours comes near it: Stripe's deepest events are about 10 deep.
MAX_JSON_DEPTH = 64
# Far beyond any number the console holds (a bigint has 19 digits), and far below the 4,300
# digits past which Python refuses to read one (in words for its programmers).
MAX_JSON_NUMBER_DIGITS = 100


def json_document(text):
    """The value the JSON `text` (str, or bytes in UTF-8) holds. `ValueError` for anything
    else: text that is not JSON (NaN and Infinity are not), or arrays and objects nested
    deeper than `MAX_JSON_DEPTH`, which Python's parser, and any code walking the value,
    would exhaust the stack on (a RecursionError, a 500), or a whole number of more than
    `MAX_JSON_NUMBER_DIGITS` digits."""
    try:
        value = json.loads(text, parse_constant=_not_json, parse_int=_json_int)
    except RecursionError:
        value = None
    else:
        if not _deeper_than(value, MAX_JSON_DEPTH):
            return value
    raise ValueError(f"Arrays and objects nested more than {MAX_JSON_DEPTH} deep.")


def _not_json(constant):
    raise ValueError(f"{constant} is not a JSON value.")


def _json_int(text):
    if len(text.lstrip("-")) > MAX_JSON_NUMBER_DIGITS:
        raise ValueError(f"A number of {len(text.lstrip('-')):,} digits; no number here has "
                         f"more than {len(str(BIGINT_MAX))}.")
    return int(text)


def _deeper_than(value, limit):
    """Whether `value` nests arrays and objects more than `limit` deep (without recursion,
    which is what a deep value must not meet)."""
    waiting = [(value, 1)]
    while waiting:
        node, depth = waiting.pop()
        children = node.values() if isinstance(node, dict) else \
            node if isinstance(node, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        waiting.extend((child, depth + 1) for child in children)
    return False


class JsonParser(JSONParser):
    """The API's parser of every request body (`DEFAULT_PARSER_CLASSES`): DRF's, reading
    through `json_document`, so that a body nested past any sense is a 400 `parse_error`,
    not a RecursionError. (DRF imports it as its views load: nothing here imports them.)"""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", "utf-8")
        try:
            return json_document(stream.read().decode(encoding))
        except ValueError as error:  # UnicodeDecodeError is one
            raise ParseError(f"JSON parse error - {error}") from error


# --- cursors ---------------------------------------------------------------------------------
# A keyset cursor holds the key of the last row of a page and the name of its list, so that
# a cursor given by one list is never read by another (whose key may have the same shape).


def cursor_for(list_name, values):
    """The cursor of the page after the row whose key is `values` (JSON values) in the list
    `list_name`."""
    return base64.urlsafe_b64encode(
        json.dumps({"list": list_name, "after": values}).encode()).decode()


def cursor_values(cursor, list_name):
    """The key `cursor` holds, a list of JSON values, if the list `list_name` gave it, or
    None. The caller checks each value before it reaches a query."""
    try:
        opened = json_document(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError):  # not base64, not JSON, not text
        return None
    if isinstance(opened, dict) and opened.get("list") == list_name \
            and isinstance(opened.get("after"), list):
        return opened["after"]
    return None
