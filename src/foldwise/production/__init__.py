"""Production readiness: batch files, input contract, integrity, export, card, registry."""
