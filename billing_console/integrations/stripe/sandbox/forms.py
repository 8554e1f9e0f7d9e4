"""Decode Stripe's form encoding (`metadata[k]=v`, `lines[0][amount]=5`, `expand[]=x`) into
nested dicts and lists, and read typed values out of them the way Stripe validates them."""

import re

from .errors import invalid_integer, invalid_request, parameter_missing

_KEY_PART = re.compile(r"\[([^\]]*)\]")


def decode(pairs):
    """`pairs` is a list of (key, value) as parse_qsl gives them, in order."""
    root = {}
    for key, value in pairs:
        head, _, rest = key.partition("[")
        parts = [head, *_KEY_PART.findall("[" + rest)] if rest else [head]
        _assign(root, parts, value)
    return _listify(root)


def _assign(node, parts, value):
    for part in parts[:-1]:
        if part == "":
            part = str(len(node))
        node = node.setdefault(part, {})
    last = parts[-1]
    node[str(len(node)) if last == "" else last] = value


def _listify(node):
    """A dict whose keys are all 0..n-1 came from `x[0]` / `x[]` and is a list."""
    if not isinstance(node, dict):
        return node
    converted = {key: _listify(value) for key, value in node.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted


def optional_int(params, name, default=None):
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise invalid_integer(name, raw) from None


def required_int(params, name):
    value = optional_int(params, name)
    if value is None:
        raise parameter_missing(name)
    return value


def required_str(params, name):
    value = params.get(name)
    if not value:
        raise parameter_missing(name)
    return value


def optional_bool(params, name, default=False):
    raw = params.get(name)
    if raw in (None, ""):
        return default
    if raw in ("true", "false"):
        return raw == "true"
    raise invalid_request(f"Invalid boolean: {raw}", param=name)


def metadata(params, current=None):
    """Stripe merges metadata keys on update; an empty value deletes that key."""
    updates = params.get("metadata")
    if updates == "":
        # `metadata=` (empty) unsets every key.
        return {}
    merged = dict(current or {})
    if not isinstance(updates, dict):
        return merged
    for key, value in updates.items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged
