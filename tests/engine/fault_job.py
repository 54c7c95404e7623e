"""A job for the fault tests: starts a grandchild, records both pids in argv[1], then sleeps for
argv[2] seconds (or kills itself with SIGKILL when argv[2] is 'kill')."""

import os
import subprocess
import sys
import time

child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
with open(sys.argv[1], "w") as out:
    out.write(f"{os.getpid()} {child.pid}")
if sys.argv[2] == "kill":
    os.kill(os.getpid(), 9)
time.sleep(float(sys.argv[2]))
child.kill()
