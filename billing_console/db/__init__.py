"""Database backends: Django's own, with a hook that runs just before a transaction
commits (`hooks.BeforeCommitMixin`). `settings.DATABASES` names them as the ENGINE."""
