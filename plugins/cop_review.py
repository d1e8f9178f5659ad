"""Airflow UI plugin: the run summaries of the COP pipeline, inside the Airflow UI.

Adds a "Review" tab to every DAG run page (an Airflow 3.1+ external view, shown in an iframe),
served by a small FastAPI app mounted in the api-server at /cop-review: for a monthly run, one line
per province, problems first, built live from the run's journals while it goes on; for the
warehouse build, what dbt built, tested and skipped and why. There is no task-level tab: Airflow
shows a task view on every task of every DAG, and a province tab on tasks that have no province
only misleads; a province task's label names the province and its outcome instead. Pages need an
Airflow login (the api-server's JWT cookie) with read access to the DAG's runs; files are served
only from COP_HOME's runs/, validation/ and reminders/.
"""
from __future__ import annotations

from pathlib import Path

from airflow.plugins_manager import AirflowPlugin
from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse

PREFIX = "cop-review"
SERVED_FOLDERS = ("runs", "validation", "reminders")


def _requires_run_access():
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
    from airflow.api_fastapi.core_api.security import requires_access_dag

    return Depends(requires_access_dag("GET", DagAccessEntity.RUN))


def _requires_login():
    from airflow.api_fastapi.core_api.security import requires_authenticated

    return Depends(requires_authenticated())


def _relative_link(up: int):
    """Links to /files/<COP_HOME-relative path> from a page `up` folders below the app root
    (relative, so that they keep working behind a proxy that mounts Airflow under a sub-path)."""
    return lambda relative: "../" * up + "files/" + relative


def _no_review(dag_id: str) -> HTMLResponse:
    return HTMLResponse(f"<p style='font-family:sans-serif'>Nothing to review in this run of {dag_id} yet. The "
                        "monthly returns runs show their provinces here as soon as a province task starts, and "
                        "the warehouse build what it built, tested and skipped; other DAGs say what they did "
                        "in their task logs.</p>")


def create_app() -> FastAPI:
    app = FastAPI(title="COP pipeline review", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/runs/{dag_id}/{run_id}", response_class=HTMLResponse, dependencies=[_requires_run_access()])
    def run_page(dag_id: str, run_id: str):
        from hub import run_review

        summary = run_review.live_run_summary(dag_id, run_id)
        if summary is not None:
            live = run_review.read_run_summary(dag_id, run_id) is None
            return HTMLResponse(run_review.render_html(summary, link=_relative_link(2), live=live))
        steps = run_review.recorded_steps(dag_id, run_id)
        if steps:
            return HTMLResponse(run_review.render_steps_html(dag_id, run_id, steps))
        return _no_review(dag_id)

    @app.get("/reminders", response_class=HTMLResponse, dependencies=[_requires_login()])
    def reminders():
        from cop.paths import state_dir

        reports = sorted((p for p in state_dir("reminders").glob("*/reminders.html")), reverse=True)
        if not reports:
            return HTMLResponse("<p style='font-family:sans-serif'>No reminder report yet: "
                                "the cop_reporting_deadlines DAG writes one every morning.</p>")
        others = "".join(f"<a href='files/reminders/{p.parent.name}/reminders.html'>{p.parent.name}</a> "
                         for p in reports[1:30])
        return HTMLResponse(reports[0].read_text("utf-8") + (f"<p>Earlier: {others}</p>" if others else ""))

    @app.get("/files/{path:path}", dependencies=[_requires_login()])
    def file(path: str):
        from cop.paths import cop_home

        home = cop_home()
        target = (home / path).resolve()
        allowed = [(home / folder).resolve() for folder in SERVED_FOLDERS]
        if not target.is_file() or not any(target.is_relative_to(folder) for folder in allowed):
            raise HTTPException(status_code=404, detail="no such file")
        return FileResponse(target, media_type=_media_type(target))

    return app


def _media_type(path: Path) -> str | None:
    return {".html": "text/html; charset=utf-8", ".md": "text/plain; charset=utf-8",
            ".csv": "text/csv; charset=utf-8", ".json": "application/json"}.get(path.suffix.lower())


class CopReviewPlugin(AirflowPlugin):
    name = "cop_review"
    fastapi_apps = [{"app": create_app(), "url_prefix": f"/{PREFIX}", "name": "COP pipeline review"}]
    external_views = [
        {"name": "Review", "href": f"{PREFIX}/runs/{{DAG_ID}}/{{RUN_ID}}", "destination": "dag_run",
         "url_route": "cop_review_run"},
        {"name": "COP reminders", "href": f"{PREFIX}/reminders", "destination": "nav", "category": "browse",
         "url_route": "cop_reminders"},
    ]
