"""Writers of the landing files, one module per vendor format (docs/landing.md).

Each writes one client's month into its landing folder, in the vendor's own format:

- :mod:`.hubspot`: ``hubspot_{contacts,calls,emails,meetings,deals}/YYYY-MM.json``;
- :mod:`.n8n`: ``n8n_executions/YYYY-MM.json``;
- :mod:`.make`: ``make_scenario_logs/YYYY-MM.json``;
- :mod:`.zapier`: ``zapier_zap_runs/YYYY-MM.json``;
- :mod:`.generic`: ``generic_runs/YYYY-MM.csv`` (any other platform's runs);
- :mod:`.harvest`: ``harvest_time_entries/YYYY-MM.csv``;
- :mod:`.toggl`: ``toggl_time_entries/YYYY-MM.csv``.

The run writers are classes: they number the runs they write across months, as the
platform would. The timesheet writers draw from the client's ``timesheets`` random
stream (timer-rounded hours, start times, label noise), so they run in a fixed order.
"""
