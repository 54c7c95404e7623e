"""One executor per step type: a StepContext in, the step's properties out."""
