"""Airflow for the DAG tests: a throwaway AIRFLOW_HOME (SQLite), no examples, our dags/.

Importing the harness sets the environment before Airflow is first imported in the session
(pytest imports this conftest while collecting, before the test modules).
"""

from tests.dags import harness  # noqa: F401


def pytest_configure(config):
    # Until pyproject.toml's [tool.pytest.ini_options] markers list it (asked for in the issue).
    config.addinivalue_line("markers", "distributed: starts a Celery deployment on the local PostgreSQL and Redis")
