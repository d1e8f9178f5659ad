"""The intake engine: land, read, map, validate and load a province's monthly return.

Every front door (the `cop` CLI, the portal, the Airflow DAGs) calls
`loaders.intake.submit_file`; nothing else decides a verdict.
"""
