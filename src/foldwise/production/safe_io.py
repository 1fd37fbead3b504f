"""scikit-learn pipelines on disk without pickle; the code lives in :mod:`foldwise.models.safe_io`.

Kept so that existing imports of ``foldwise.production.safe_io`` keep working: saving and
loading model files belongs to the models layer, which must not import from production.
"""

from foldwise.models.safe_io import (
    TRUSTED_BUILTINS,
    TRUSTED_PREFIXES,
    dump_pipeline,
    load_pipeline,
)

__all__ = ["TRUSTED_BUILTINS", "TRUSTED_PREFIXES", "dump_pipeline", "load_pipeline"]
