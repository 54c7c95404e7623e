"""Modules that several jobs' code imports (Lambda handlers, Processing scripts).

Each job ships the repository modules it imports beside its entry script (kernel/context.py's
folder and Lambda assets), so these run in AWS containers: standard library (and boto3 in
Lambda) only, Python 3.9+, no compiler, kernel, pydantic or Hydra.
"""
