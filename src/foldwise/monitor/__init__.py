"""Monitoring after deployment: reference profile, drift, performance, policy, retraining."""
