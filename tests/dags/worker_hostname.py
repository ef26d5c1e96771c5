"""``[core] hostname_callable`` for tests that run two Celery workers on one machine.

Airflow records the task's host in ``task_instance.hostname``; both workers share this
machine's name, so each worker process is given its own through ``ROI_TEST_WORKER_NAME``.
"""

from __future__ import annotations

import os
import socket


def worker_hostname() -> str:
    return os.environ.get("ROI_TEST_WORKER_NAME") or socket.getfqdn()
