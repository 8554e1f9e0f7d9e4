# The console's image: gunicorn for the web, the same image for the worker and beat.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 VAR_DIR=/app/var
WORKDIR /app

COPY pyproject.toml README.md ./
RUN pip install --no-cache-dir .
COPY . .
# collectstatic needs settings but no secrets: a throwaway key used only for this step.
RUN DEBUG=0 SECRET_KEY=collectstatic-only ALLOWED_HOSTS=localhost \
    python manage.py collectstatic --noinput \
 && useradd --create-home --uid 10001 console && mkdir -p /app/var && chown console /app/var
USER console

EXPOSE 8000
# gthread: a worker keeps telling gunicorn it is alive while one of its threads streams a
# long export (a sync worker streaming past --timeout is killed mid-file). No access log:
# the console writes one line per request itself (billing_console/request_log.py).
CMD ["gunicorn", "billing_console.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--worker-class", "gthread", "--threads", "4", "--forwarded-allow-ips", "*"]
