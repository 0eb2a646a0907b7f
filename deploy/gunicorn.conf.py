"""gunicorn's hooks for govflow-web.service (``gunicorn -c /opt/govflow/deploy/gunicorn.conf.py``);
the unit's command line sets the rest (bind, workers, threads, timeout).

With ``PROMETHEUS_MULTIPROC_DIR`` set (docs/deploy.md, "Watching it run"), each worker process
keeps its metrics in files there and ``/metrics`` adds them all up. When a worker process ends,
killed or not, the master removes its live gauges (requests in progress) from the sum. Its counters
stay, so the totals never go back. Without the variable this file does nothing.
"""
import os


def child_exit(server, worker):
    """Runs in the master after a worker process has ended, however it ended."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(worker.pid)
