"""The application shell: what staff, schedulers and the demo run (the `cop` command line, the monthly
cycle's steps, the inbox and the pulls from the provinces, reminders, backups, the generator of sample
returns, the local Airflow). It sits on the kernel (cop), the intake (loaders) and publishing, and
administers the portal; nothing below imports it (docs/ARCHITECTURE.md)."""
