from django.core.management.base import BaseCommand, CommandError

from audit.services import audit_chain_verify


class Command(BaseCommand):
    help = ("Check the audit trail's hash chain, and that the head an earlier check reached "
            "is still there; exit non-zero naming the first broken or missing event.")

    def handle(self, *args, **options):
        report = audit_chain_verify()
        if not report.intact:
            raise CommandError(
                f"Audit chain broken at event #{report.broken_id}: {report.problem}. "
                f"{report.checked} events before it are intact."
            )
        self.stdout.write(self.style.SUCCESS(
            f"Audit chain intact: {report.checked} events verified, up to event "
            f"#{report.last_verified_id} with hash {report.last_verified_hash or '-'}."
        ))
