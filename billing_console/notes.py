"""What a person writes in the console as free text: a money action's note and decision
note, a console note, a resolution summary and public reply, guidance, a question and its
answer, a handover note. One length limit holds for all of them, on the pages (the form's
`max_length`, which also caps the text box in the browser) and in the API (the
serializer's) alike, and the services that store them check it again, so that no caller
gets past it.
"""

from billing_console.exceptions import ApplicationError

# The longest note, in characters: about two pages of text, far more than any note needs,
# and short enough that a page showing one stays readable.
NOTE_MAX_CHARS = 5_000
TOO_LONG_CODE = "note_too_long"
# A note quoted in a sentence someone else reads (finance's reason, on the Zendesk ticket):
# a few lines' worth; the whole note stays in the console.
QUOTED_MAX_CHARS = 300


def check_note_length(text, *, what="A note"):
    """Raise `ApplicationError` (400, `note_too_long`) when `text` is longer than
    `NOTE_MAX_CHARS`; `what` names the text in the message ("A summary")."""
    if len(text or "") > NOTE_MAX_CHARS:
        raise ApplicationError(f"{what} is at most {NOTE_MAX_CHARS:,} characters; this one "
                               f"has {len(text):,}.", TOO_LONG_CODE)


def note_ending_a_sentence(text, max_chars=QUOTED_MAX_CHARS):
    """`text`, a person's note, to end a sentence with: its lines and spaces folded into
    one line, at most `max_chars` characters (cut at a word, ending in "…"), and ending in
    a full stop unless it ends in ".", "!", "?" or "…". "" stays ""."""
    line = " ".join(str(text or "").split())
    if len(line) > max_chars:
        line = line[:max_chars].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"
    return line if not line or line.endswith((".", "!", "?", "…")) else f"{line}."
