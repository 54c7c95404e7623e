"""`python -S engine/watchdog.py ENGINE_PID ARGV...`: run a job that cannot outlive the engine.

The engine starts each job through this script, in a process group of its own. The script asks
the kernel for a signal when its parent (the engine) dies (prctl PR_SET_PDEATHSIG), starts the
job in the same group and waits for it; when the engine is gone, even by `kill -9`, it kills the
whole group, the job's own children included. It exits as the job did (its code, or its signal),
so the engine sees the job's end. Standard library only, no project imports: it starts fast.
"""

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1
ORPHANED = signal.SIGUSR1  # what the kernel sends this process when the engine dies


def _kill_group(*_: object) -> None:
    os.killpg(0, signal.SIGKILL)  # this process included


def main(argv: list[str]) -> None:
    engine, command = int(argv[0]), argv[1:]
    signal.signal(ORPHANED, _kill_group)
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, ORPHANED)
    if os.getppid() != engine:  # the engine died before the request took effect
        _kill_group()
    # Stopping is the engine's: it signals the whole group, and the job handles it.
    for stop in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop, signal.SIG_IGN)
    child = os.fork()
    if child == 0:
        for stop in (signal.SIGTERM, signal.SIGINT, ORPHANED):
            signal.signal(stop, signal.SIG_DFL)
        try:
            os.execvp(command[0], command)
        except OSError as error:
            print(f"cannot start {command[0]}: {error.strerror}", file=sys.stderr)
            os._exit(127)
    while True:
        try:
            _, status = os.waitpid(child, 0)
            break
        except InterruptedError:
            continue
    if os.WIFSIGNALED(status):
        ended = os.WTERMSIG(status)
        if ended != signal.SIGKILL:
            signal.signal(ended, signal.SIG_DFL)
        os.kill(os.getpid(), ended)
    sys.exit(os.waitstatus_to_exitcode(status))


if __name__ == "__main__":
    main(sys.argv[1:])
