"""Serving: the HTTP app, the prediction log, shadow scoring and the shadow report."""
