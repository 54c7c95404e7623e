"""A FrameworkProcessor job whose requirements.txt this machine does not satisfy; never runs."""

raise SystemExit("the engine must refuse this job before it starts")
