#!/bin/sh
# The database's two roles, neither a superuser. The postgres image runs this once, as its
# superuser, when its data directory is new (/docker-entrypoint-initdb.d); on another
# server run it as a superuser with PGHOST and PGUSER set.
# - CONSOLE_OWNER_ROLE owns the database, its schema and so every table: migrations run
#   as it (MIGRATION_DATABASE_URL).
# - CONSOLE_APP_ROLE is what the console connects as (DATABASE_URL). `manage.py migrate`
#   grants it its rights: only SELECT and INSERT on the audit trail (README, "Database roles").
set -eu
: "${POSTGRES_DB:?set POSTGRES_DB}"
: "${CONSOLE_OWNER_PASSWORD:?set CONSOLE_OWNER_PASSWORD}"
: "${CONSOLE_APP_PASSWORD:?set CONSOLE_APP_PASSWORD}"
psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet --username "${POSTGRES_USER:-postgres}" \
  --dbname "$POSTGRES_DB" -v db="$POSTGRES_DB" \
  -v owner="${CONSOLE_OWNER_ROLE:-console_owner}" -v app="${CONSOLE_APP_ROLE:-console_app}" \
  -v owner_password="$CONSOLE_OWNER_PASSWORD" -v app_password="$CONSOLE_APP_PASSWORD" <<'SQL'
CREATE ROLE :"owner" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'owner_password';
CREATE ROLE :"app" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT PASSWORD :'app_password';
ALTER DATABASE :"db" OWNER TO :"owner";
ALTER SCHEMA public OWNER TO :"owner";
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
-- TEMPORARY: the Zendesk sync stages a page of tickets in a temporary table.
GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO :"app";
SQL
