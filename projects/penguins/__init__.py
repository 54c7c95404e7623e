"""The penguins project: tabular species classification."""
