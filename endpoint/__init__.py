"""Command-line tools for a deployed endpoint: measure accuracy, send traffic, write ground truth.

Each tool is `python -m endpoint.<tool> [options] [overrides]`; the overrides select the project
exactly as the compiler's do (`project=digits`). See endpoint/README.md.
"""
