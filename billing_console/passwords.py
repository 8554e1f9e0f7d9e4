"""How long a password may be. Django's validators set no upper bound, and hashing a
10,000-character password works: but no one types one, a password manager makes at most
some 100, and every sign-in would hash what an attacker sends, however long."""

from django.core.exceptions import ValidationError

PASSWORD_MAX_LENGTH = 128
TOO_LONG = f"A password has at most {PASSWORD_MAX_LENGTH} characters."


class MaximumLengthValidator:
    """In AUTH_PASSWORD_VALIDATORS: a new password longer than `PASSWORD_MAX_LENGTH` is
    refused ("password_too_long"), wherever one is set (the admins' pages, Django's admin)."""

    def validate(self, password, user=None):
        if len(password) > PASSWORD_MAX_LENGTH:
            raise ValidationError(TOO_LONG, code="password_too_long")

    def get_help_text(self):
        return f"Your password can't be longer than {PASSWORD_MAX_LENGTH} characters."
