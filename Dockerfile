# One image for every Python service of docker-compose.yml (Airflow components, the portal, init),
# built from the pinned requirements-image.lock: the runtime dependencies of requirements.lock (same
# versions) plus the FAB auth manager, without the test tools; .dockerignore keeps tests/ out.
FROM python:3.11-slim-bookworm

ARG AIRFLOW_UID=50000
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    AIRFLOW_HOME=/opt/airflow \
    COP_HOME=/var/lib/cop \
    PATH=/opt/venv/bin:$PATH

# curl for health checks; pango/harfbuzz for WeasyPrint (the PDF report); tini as PID 1.
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl tini libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b \
      libfontconfig1 fonts-dejavu-core fonts-paktype \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/cop
COPY requirements-image.lock pyproject.toml ./
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir uv==0.13.9 \
 && /opt/venv/bin/uv pip install --no-cache --python /opt/venv/bin/python -r requirements-image.lock

COPY . .
RUN /opt/venv/bin/uv pip install --no-cache --python /opt/venv/bin/python --no-deps -e . \
 && useradd --uid "${AIRFLOW_UID}" --gid 0 --home-dir "${AIRFLOW_HOME}" --create-home airflow \
 && mkdir -p "${COP_HOME}" "${AIRFLOW_HOME}/logs" \
 && chown -R "${AIRFLOW_UID}:0" "${COP_HOME}" "${AIRFLOW_HOME}" \
 && chmod -R g+rwX "${COP_HOME}" "${AIRFLOW_HOME}"

USER ${AIRFLOW_UID}
EXPOSE 8080 8000
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["airflow", "version"]
