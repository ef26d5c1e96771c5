"""Deterministic sample data: client files plus landing files in the vendors' own formats.

- :mod:`.generator`: :func:`generate`, the entry point; per client and month it runs the
  simulations and hands their output to the writers;
- :mod:`.clients`: the four base client profiles, one module each, and their cycled variants;
- :mod:`.client_files`: the client configuration files (``<client_id>.yaml``, ``_consultancy.yaml``);
- :mod:`.crm`, :mod:`.runs`, :mod:`.timesheets`: the CRM, workflow-run and timesheet simulations;
- :mod:`.writers`: the landing files, one module per vendor format;
- :mod:`.landing`: a client's landing folder, its row counts and ``_extracts.json``;
- :mod:`.common`: shared names, seeded random streams and time arithmetic.
"""

from roi_pipeline.sample.generator import GenerateSummary, generate

__all__ = ["GenerateSummary", "generate"]
