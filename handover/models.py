"""The notes each person leaves for the next shift."""

from django.conf import settings
from django.db import models


class HandoverNote(models.Model):
    """What one person tells the next shift. Append-only: a note is never changed or
    removed once left (`save` refuses to update one, `delete` refuses), and each is also
    in the hash-chained audit trail (`handover.note_left`, the text in `after`)."""

    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                               related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"Handover note {self.pk} by {self.author_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("A handover note is kept as it was left; it cannot change.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("A handover note is kept as it was left; it cannot be removed.")
