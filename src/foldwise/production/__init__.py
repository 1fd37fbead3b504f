"""Production readiness: fast scoring, input contract, integrity, export, card, registry."""
