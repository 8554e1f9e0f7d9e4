from django import template

from billing_console.markdown import render_markdown

register = template.Library()


@register.filter
def markdown(text):
    """{{ playbook.body|markdown }}: sanitised HTML (see billing_console.markdown)."""
    return render_markdown(text)
