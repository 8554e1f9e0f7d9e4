"""CSV for spreadsheets: cells neutralised against formula injection, streamed line by line.

A spreadsheet reads a cell starting with =, +, -, @, tab or carriage return as a formula.
Text from Zendesk and Stripe (subjects, notes, descriptions) is untrusted, so such a cell
gets a leading single quote and is shown as text. defusedcsv does much the same, but it also
rewrites "|" inside cells, leaves tab and carriage return alone, and its writer does not hand
back the line written, which streaming needs.
"""

import csv

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """The value as text a spreadsheet shows as text. Integers stay numbers: a negative
    amount is not a formula."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


class _Echo:
    """A file that hands back what is written to it, so csv.writer yields lines."""

    def write(self, value):
        return value


def csv_lines(header, rows):
    """The header (when there is one), then one CSV line per row of `rows` (an iterable of
    sequences), every cell neutralised; for a StreamingHttpResponse, so nothing is gathered
    in memory."""
    writer = csv.writer(_Echo())
    if header:
        yield writer.writerow([safe_cell(name) for name in header])
    for row in rows:
        yield writer.writerow([safe_cell(value) for value in row])
