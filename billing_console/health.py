"""Readiness checks for /readyz and the compose healthchecks."""

import logging

from django.db import connection

from billing_console.celery import app as celery_app

logger = logging.getLogger(__name__)


def database_status():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception:
        logger.exception("Readiness: the database did not answer")
        return "unavailable"


def broker_status():
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception:
        logger.exception("Readiness: the Celery broker did not answer")
        return "unavailable"


def readiness():
    return {"database": database_status(), "broker": broker_status()}
