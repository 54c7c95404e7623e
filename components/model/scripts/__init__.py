"""Job code that runs alone inside its AWS container (see the component README)."""
