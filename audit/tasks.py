"""Audit tasks: the nightly chain check, and CSV exports too large to stream."""

import logging

from celery import shared_task

from audit.exports import write_export
from audit.services import audit_chain_verify

logger = logging.getLogger(__name__)


@shared_task
def verify_audit_chain_task():
    """Nightly: check the whole chain and that the head the last intact check reached is
    still there, keep the result for finance, and say loudly where it breaks (a missing
    head is named by id and hash in the problem)."""
    verification = audit_chain_verify()
    if verification.intact:
        logger.info("Audit chain intact: %s events verified, up to event #%s (%s)",
                    verification.checked, verification.last_verified_id,
                    verification.last_verified_hash)
    else:
        logger.error("Audit chain broken at event #%s: %s", verification.broken_id,
                     verification.problem)
    return {"intact": verification.intact, "checked": verification.checked,
            "broken_id": verification.broken_id}


@shared_task(acks_late=True)
def write_audit_export(export_id):
    write_export(export_id)

