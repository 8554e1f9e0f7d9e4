from django import template

from guidance.markdown import render_markdown

register = template.Library()


@register.filter
def markdown(text):
    """{{ playbook.body|markdown }}: sanitised HTML (see guidance.markdown)."""
    return render_markdown(text)
