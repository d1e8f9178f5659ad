"""National COP monitoring warehouse: the shared library behind the CLI, the portal and the DAGs."""
