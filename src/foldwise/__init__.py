"""foldwise: a declarative, DVC-driven experiment system for honest tabular machine learning."""

__version__ = "0.1.0"
