"""Runtime tools that read a compiled bundle (pipeline.json, assets.json), not the config."""
