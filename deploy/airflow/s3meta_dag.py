"""Airflow DAG that runs s3meta, sharded across parallel tasks.

Each task runs `s3meta ingest --shard I/N`; a shard's stale-marking covers only its own
buckets. Put the workflow file at WORKFLOW and the s3meta binary on the workers' PATH.
"""
from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator

WORKFLOW = "/opt/s3meta/workflow.yaml"
SHARDS = 4

with DAG(
    dag_id="s3meta_ingest",
    schedule="0 * * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
    tags=["openmetadata", "s3"],
) as dag:
    for index in range(SHARDS):
        BashOperator(
            task_id=f"ingest_shard_{index}",
            bash_command=f"s3meta ingest -c {WORKFLOW} --shard {index}/{SHARDS}",
        )
