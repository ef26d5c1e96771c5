"""Alerts that reach a person (the hourly ``roi_alerts`` DAG).

:mod:`.detect` finds what is wrong now (failure spike, silent daily workflow, guarantee at
risk, stale extraction), :mod:`.store` records incidents so each is told once when it opens
and once when it clears, :mod:`.notify` delivers through Airflow's notifiers (SMTP, Slack
webhook; Teams by a webhook POST) to the client's own route, outside its quiet hours, and
:mod:`.run` ties them together (:func:`~roi_pipeline.alerts.run.check_alerts`).
"""
