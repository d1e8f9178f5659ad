#!/usr/bin/env bash
# `make bi`: Apache Superset on this COP_HOME's warehouse, connected as the read-only bi_reader, every mart a
# dataset. Superset lives in its own virtualenv (.bi-venv, deploy/superset/requirements.txt), apart from the
# project's pinned environment; its metadata and admin login live under COP_HOME/superset.
set -euo pipefail
cd "$(dirname "$0")/../.."
export COP_HOME="${COP_HOME:-$PWD/.cop}"
export SUPERSET_HOME="$COP_HOME/superset"
export SUPERSET_CONFIG_PATH="$PWD/deploy/superset/superset_config.py"
export FLASK_APP=superset
BI_VENV="${BI_VENV:-$PWD/.bi-venv}"
PORT="${COP_BI_PORT:-8088}"
mkdir -p "$SUPERSET_HOME" "$COP_HOME/secrets"

.venv/bin/cop db start >/dev/null
COP_BI_WAREHOUSE_URL="$(.venv/bin/python -c 'from cop import db; from cop.security import BI_READER_ROLE; print(db.role_url(BI_READER_ROLE))')"
export COP_BI_WAREHOUSE_URL

password_file="$COP_HOME/secrets/superset-admin"
if [ ! -s "$password_file" ]; then
    (umask 077; .venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(12))' > "$password_file")
fi
"$BI_VENV/bin/superset" db upgrade >/dev/null 2>&1
if ! "$BI_VENV/bin/superset" fab list-users 2>/dev/null | grep -q "username:admin"; then
    "$BI_VENV/bin/superset" fab create-admin --username admin --firstname COP --lastname Analyst \
        --email admin@cop.invalid --password "$(cat "$password_file")" >/dev/null
fi
"$BI_VENV/bin/superset" init >/dev/null 2>&1
"$BI_VENV/bin/python" deploy/superset/register_warehouse.py
echo "Superset: http://127.0.0.1:$PORT  (user admin, password in $password_file)"
if [ "${COP_BI_NO_SERVER:-}" != "1" ]; then
    exec "$BI_VENV/bin/superset" run -h 127.0.0.1 -p "$PORT" --with-threads
fi
