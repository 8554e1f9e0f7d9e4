"""Guidance for Tier 2: playbooks (with every version kept), guidance written on a case,
and the questions Tier 2 asks billing with their answers."""

from django.conf import settings
from django.db import models

from cases.models import Category


class Playbook(models.Model):
    """A Markdown article on one kind of billing question. Its text is the latest version;
    every version, this one included, is a `PlaybookVersion`."""

    slug = models.SlugField(max_length=120, unique=True)
    title = models.CharField(max_length=200)
    category = models.CharField(max_length=32, choices=Category.choices, db_index=True)
    body = models.TextField(help_text="Markdown.")
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["category", "title"]

    def __str__(self):
        return self.title


class PlaybookVersion(models.Model):
    playbook = models.ForeignKey(Playbook, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-number"]
        constraints = [models.UniqueConstraint(fields=["playbook", "number"],
                                               name="playbook_version_once")]

    def __str__(self):
        return f"{self.playbook} v{self.number}"


class CaseGuidance(models.Model):
    """What a specialist tells Tier 2 to say about one case."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="guidance")
    body = models.TextField(help_text="Markdown.")
    playbook = models.ForeignKey(Playbook, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+", help_text="The playbook it started from.")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                               related_name="+")
    posted_to_zendesk = models.BooleanField(default=False)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Guidance on case {self.case_id}"


class Question(models.Model):
    """A billing question from Tier 2, on a case or on its own, and billing's answer."""

    asker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                              related_name="+")
    case = models.ForeignKey("cases.Case", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="questions")
    body = models.TextField()
    created_at = models.DateTimeField(db_index=True)
    answer_due = models.DateTimeField()
    answer = models.TextField(blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    answered_at = models.DateTimeField(null=True, blank=True)
    promoted_to = models.ForeignKey(Playbook, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["answered_at", "created_at"])]

    def __str__(self):
        return f"Question {self.pk}"

    @property
    def is_open(self):
        return self.answered_at is None
