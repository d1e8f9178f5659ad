"""cop_monthly_returns: pull the provinces' new return files from their drop folders.

Thin wiring only: every task calls one function of hub.orchestration.
"""
from __future__ import annotations

from airflow.sdk import Asset, Param, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowSkipException

from hub.dag_defaults import pakistan_cron, task_defaults
from hub.orchestration import MONTHLY_DAG_ID, RAW_RETURNS_ASSET

RAW_RETURNS = Asset(RAW_RETURNS_ASSET)

DOC = """
### Monthly returns: land, validate, load

A province whose source is remote (`spec/sources.yaml`: an SFTP folder or an HTTPS address) has
its new, complete files of the months in their schedule window fetched first (a ledger makes sure
no file is taken twice; a file replaced upstream becomes the next version). Every province may also
drop its return in `COP_HOME/inbox/<PROVINCE>/`, named `<PROVINCE>_<YYYY-MM>[_note].csv|xlsx`
(for example `SD_2025-03.csv`, `PB_2025-03_rev1.xlsx`).
One mapped task per province submits every new file to the intake (land the exact bytes, validate,
load when accepted) and moves a dropped file to `processed/` (or `refused/` when the name is unusable).
The run is a short daily poll: nothing holds a worker while a province has not published yet.
A source that cannot be read fails its task with a specific message (unreachable, wrong credentials,
permission denied, ...); only failures that a later attempt can cure are retried.

**Review**: open a run and its **Review** tab: one line per province, problems first, each with
its next step; then every file with its blocking errors, warnings and validation report. It is live
while the run goes on (retries and failures show with their error). Each province task's name in
the grid says what happened (for example `SD: 1 accepted, 1 rejected`).

A rejected file is a normal outcome (the task succeeds and the summary says why). A database or
disk error fails the task, which retries with backoff. When a file was accepted, the
`cop_raw_returns` asset is updated and the warehouse build starts.
"""


@dag(
    dag_id=MONTHLY_DAG_ID,
    schedule=pakistan_cron("0 18 * * *"),
    catchup=False,
    max_active_runs=1,
    default_args=task_defaults(),
    params={"provinces": Param([], type="array", items={"type": "string"},
                               description="Province codes to pull (empty: every province)."),
            "periods": Param([], type="array", items={"type": "string"},
                             description="Months (YYYY-MM) to fetch from remote sources (empty: the months "
                                         "whose schedule window is open on the run's day).")},
    tags=["cop", "intake"],
    doc_md=DOC,
)
def cop_monthly_returns():
    @task
    def provinces() -> list[str]:
        from hub.orchestration import selected_provinces

        return selected_provinces(get_current_context()["params"]["provinces"])

    # The label names the province from the start (rendered before the task runs too), then says what happened.
    @task(map_index_template="{{ province_verdict | default(task.op_kwargs['province'] ~ ': running') }}")
    def intake(province: str) -> dict:
        from hub.orchestration import intake_province

        context = get_current_context()
        ti = context["ti"]
        try:
            result = intake_province(province, ti.dag_id, ti.run_id, ti.map_index,
                                     periods=context["params"]["periods"], run_date=context["dag_run"].run_after,
                                     try_number=ti.try_number, last_try=ti.try_number > ti.max_tries)
        except Exception as exc:
            context["province_verdict"] = f"{province}: FAILED, attempt {ti.try_number} ({type(exc).__name__})"
            raise
        context["province_verdict"] = result["headline"]
        return result

    @task(trigger_rule="all_done", retries=0)
    def summarise(codes: list[str]) -> dict:
        from hub.orchestration import summarise_monthly_run

        ti = get_current_context()["ti"]
        return summarise_monthly_run(ti.dag_id, ti.run_id, codes)

    @task(trigger_rule="all_done", retries=0, outlets=[RAW_RETURNS])
    def announce_raw_changes(codes: list[str]) -> dict:
        from hub.orchestration import accepted_in_run

        context = get_current_context()
        ti = context["ti"]
        accepted = accepted_in_run(ti.dag_id, ti.run_id, codes)
        if not accepted:
            raise AirflowSkipException("no file was accepted: raw data unchanged, no warehouse build")
        context["outlet_events"][RAW_RETURNS].extra = {"accepted": accepted}
        return {"accepted": len(accepted)}

    codes = provinces()
    intakes = intake.expand(province=codes)
    intakes >> summarise(codes)
    intakes >> announce_raw_changes(codes)


cop_monthly_returns()
