"""The local engine: runs a bundle's pipeline.json on this machine, without AWS or Docker."""
