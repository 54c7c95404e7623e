"""`python -m ui`: a local web view of bundles, engine executions, models and monitoring."""
