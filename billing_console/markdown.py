"""Markdown to HTML that is safe to show: playbooks and guidance are written by staff, but
answers promoted from questions carry Tier 2's words, and any of it may quote a customer.
Python-Markdown renders; nh3 keeps only plain formatting tags and http(s)/mailto links,
so a `<script>` or a `javascript:` link is inert.

It lives in the core so every layer renders alike: guidance shows playbooks with it, and
cases sends the console's notes and guidance to Zendesk as `html_body` with it."""

import markdown as markdown_lib
import nh3
from django.utils.safestring import mark_safe

ALLOWED_TAGS = {"p", "br", "hr", "h2", "h3", "h4", "strong", "em", "code", "pre", "blockquote",
                "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}


def render_markdown(text):
    html = markdown_lib.markdown(text or "", extensions=["extra", "sane_lists"])
    return mark_safe(nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,  # noqa: S308 (cleaned by nh3)
                               url_schemes={"http", "https", "mailto"},
                               link_rel="noopener noreferrer"))
