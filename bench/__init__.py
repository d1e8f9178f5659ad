"""`cop-bench`: what the pipeline costs, each figure beside a baseline measured in the same run.

run.py runs the stages in one fresh COP_HOME and writes bench/results.json, results.md and growth.png:
loader.py (COPY path vs psql \\copy vs pandas), verdict.py (one province file), backfill.py (ten
years of returns, and the dbt build as history grows) and cycle.py (the monthly cycle through the
Airflow DAGs vs the same library calls made directly).
"""
