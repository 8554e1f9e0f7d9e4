"""Long text folded on a page: its first lines shown, the whole behind a <details>, so a
long note or comment cannot make a page many screens tall."""

from django import template

register = template.Library()

# What shows of a folded text: a few lines, as a timeline entry usually has.
FOLD_LINES = 6
FOLD_CHARS = 600


@register.filter
def folded_head(text):
    """The first lines of `text` (at most `FOLD_LINES` lines and `FOLD_CHARS` characters,
    ending in "…") when it is longer than that; "" when it is short enough to show whole."""
    text = text or ""
    lines = text.splitlines()
    if len(lines) <= FOLD_LINES and len(text) <= FOLD_CHARS:
        return ""
    return "\n".join(lines[:FOLD_LINES])[:FOLD_CHARS].rstrip() + "…"
