"""Airflow UI plugin: the run summaries of the COP pipeline, inside the Airflow UI.

Adds a "Review" tab to every DAG run page and a "Province review" tab to every task instance page
(Airflow 3.1+ external views, shown in an iframe), served by a small FastAPI app mounted in the
api-server at /cop-review. Pages need an Airflow login (the api-server's JWT cookie) with read
access to the DAG's runs; files are served only from COP_HOME's runs/, validation/ and reminders/.
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


def _no_summary(dag_id: str, run_id: str) -> HTMLResponse:
    return HTMLResponse(f"<p style='font-family:sans-serif'>No review summary recorded for this run yet "
                        f"({dag_id}). The monthly returns DAG writes one when its summarise task runs.</p>")


def create_app() -> FastAPI:
    app = FastAPI(title="COP pipeline review", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/runs/{dag_id}/{run_id}", response_class=HTMLResponse, dependencies=[_requires_run_access()])
    def run_page(dag_id: str, run_id: str):
        from cop import review

        summary = review.read_run_summary(dag_id, run_id)
        if summary is None:
            return _no_summary(dag_id, run_id)
        return HTMLResponse(review.render_html(summary, link=_relative_link(2)))

    @app.get("/runs/{dag_id}/{run_id}/{task_id}/{map_index}", response_class=HTMLResponse,
             dependencies=[_requires_run_access()])
    def task_page(dag_id: str, run_id: str, task_id: str, map_index: str):
        from cop import review
        from cop.registry import load_registry

        summary = review.read_run_summary(dag_id, run_id)
        index = int(map_index) if map_index.lstrip("-").isdigit() else -1
        province = review.province_for_map_index(dag_id, run_id, index) if index >= 0 else None
        if province is None:
            if summary is None:
                return _no_summary(dag_id, run_id)
            return HTMLResponse(review.render_html(summary, link=_relative_link(4)))
        live = review.province_summary(dag_id, run_id, province, load_registry().province(province).province_name)
        summary = summary or review.RunSummary(dag_id, run_id, [live])
        return HTMLResponse(review.render_html(summary, link=_relative_link(4), provinces=[live],
                                               title=f"{dag_id} - {run_id} - {live.headline}"))

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
        {"name": "Province review", "href": f"{PREFIX}/runs/{{DAG_ID}}/{{RUN_ID}}/{{TASK_ID}}/{{MAP_INDEX}}",
         "destination": "task_instance", "url_route": "cop_review_task"},
        {"name": "COP reminders", "href": f"{PREFIX}/reminders", "destination": "nav", "category": "browse",
         "url_route": "cop_reminders"},
    ]
