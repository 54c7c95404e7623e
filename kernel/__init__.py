"""The kernel: intermediate form, typed expressions, errors, emit, checks and tables.

It imports no component and nothing of the assembly.
"""
