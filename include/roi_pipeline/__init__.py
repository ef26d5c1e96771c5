"""Monthly automation-ROI pipeline for fractional AI ops teams.

The package holds every piece of business logic; Airflow DAGs in ``dags/`` only wire
calls into it. Modules:

- :mod:`roi_pipeline.settings` - where landing data, client files, the warehouse and
  reports live (``ROI_*`` environment variables).
- :mod:`roi_pipeline.config` - the client configuration schema and loader.
- :mod:`roi_pipeline.formats` - one parser per vendor landing format.
- :mod:`roi_pipeline.ingest` - the raw layer: landing files -> DuckDB raw tables.
- :mod:`roi_pipeline.sample` - the deterministic sample-data generator.
"""

__version__ = "0.1.0"
