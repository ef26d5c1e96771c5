"""
### roi_onboard_client: is a new client ready to be backfilled?

Manual only. Parameters: `client` (its file name in `ROI_CLIENTS_DIR`), `from_month` and
`to_month` (YYYY-MM). **check** runs `roi validate CLIENT` (client file, landing sources
the configuration needs), checks the months are within the engagement, ingests the
client's landing files and runs the raw quality gate for every month. It fails with the
exact list of what is missing, or succeeds and logs the backfill command:

`airflow backfill create --dag-id roi_monthly --from-date <from>-01 --to-date <to>-01 ...`

The same check from a shell: `python -m roi_pipeline.orchestration.onboarding CLIENT --from ... --to ...`.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, task

from roi_pipeline.orchestration.defaults import DEFAULT_ARGS, ONBOARD_DAG_ID, TAGS, WAREHOUSE_POOL
from roi_pipeline.orchestration.months import MONTH_PATTERN


@dag(
    dag_id=ONBOARD_DAG_ID,
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    default_args={**DEFAULT_ARGS, "retries": 1},
    tags=[*TAGS, "onboarding", "backfill"],
    doc_md=__doc__,
    params={
        "client": Param("", type="string", minLength=1, description="The new client's id."),
        "from_month": Param("", type="string", pattern=MONTH_PATTERN, description="First month, YYYY-MM."),
        "to_month": Param("", type="string", pattern=MONTH_PATTERN, description="Last month, YYYY-MM."),
    },
)
def roi_onboard_client():
    @task(pool=WAREHOUSE_POOL, retries=0)  # the check is deterministic: a retry says the same
    def check(**context) -> dict:
        from roi_pipeline.orchestration.onboarding import check_client, describe
        from roi_pipeline.orchestration.steps import ClientStepFailed

        params = context["params"]
        result = check_client(params["client"], params["from_month"], params["to_month"])
        text = describe(result, params["client"])
        if not result["ok"]:
            raise ClientStepFailed(text)
        print(text)
        return result

    check()


roi_onboard_client()
