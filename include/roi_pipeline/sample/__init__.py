"""Deterministic sample data: client files plus landing files in the vendors' own formats.

See :func:`roi_pipeline.sample.generator.generate`.
"""

from roi_pipeline.sample.generator import GenerateSummary, generate

__all__ = ["GenerateSummary", "generate"]
