"""`python -S engine/namespace.py PLAN -- ARGV...`: run ARGV in a private mount namespace.

PLAN (JSON) says how the job's container filesystem looks: `tmpfs` (a folder, /opt, covered by
an empty tmpfs in which every entry the folder had is bound back, so the machine's own /opt stays
usable), then `binds`, [source, target, read_only] in order (the job's folder at /opt/ml, each
input read-only at its container path: the job cannot change the originals, root or not), then
`cwd`. With `user` true it first enters a user namespace as root (`unshare --user
--map-root-user`), for engines that do not run as root. Then it execs ARGV (the watchdog), in
the same process, so the engine's process handling sees no difference. The mounts vanish with
the job's last process. Standard library only: it runs before the job, on every job.
"""

import ctypes
import json
import os
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
# statvfs flag -> mount flag: a read-only remount must keep these, or a user namespace refuses it
KEPT_FLAGS = {
    os.ST_NOSUID: MS_NOSUID,
    os.ST_NODEV: MS_NODEV,
    os.ST_NOEXEC: MS_NOEXEC,
    os.ST_NOATIME: MS_NOATIME,
    os.ST_NODIRATIME: MS_NODIRATIME,
    os.ST_RELATIME: MS_RELATIME,
}
FAILED = 126  # the exit code of a job whose filesystem could not be made (as a shell's)

_libc = ctypes.CDLL(None, use_errno=True)


class SetupError(Exception):
    pass


def _call(what: str, result: int) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise SetupError(f"{what}: {os.strerror(errno)}")


def _mount(source: str, target: str, fstype: str, flags: int, data: str = "") -> None:
    _call(
        f"mount {source} on {target}",
        _libc.mount(source.encode(), target.encode(), fstype.encode(), flags, data.encode()),
    )


def enter(user: bool) -> None:
    """Unshare the mount namespace (and the user namespace, mapped to root, when `user`)."""
    if not user:
        _call("unshare --mount", _libc.unshare(CLONE_NEWNS))
    else:
        uid, gid = os.getuid(), os.getgid()
        _call("unshare --user --mount", _libc.unshare(CLONE_NEWUSER | CLONE_NEWNS))
        maps = (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"), ("gid_map", f"0 {gid} 1"))
        for name, text in maps:
            with open(f"/proc/self/{name}", "w") as file:
                file.write(text)
    _mount("none", "/", "", MS_REC | MS_PRIVATE)  # nothing mounted here leaks to the machine


def cover(folder: str) -> None:
    """An empty tmpfs over `folder`, with each of its entries bound back (symlinks remade)."""
    original = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    entries = os.listdir(original)
    _mount("tmpfs", folder, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755")
    for name in entries:
        source, target = f"/proc/self/fd/{original}/{name}", os.path.join(folder, name)
        if os.path.islink(source):
            os.symlink(os.readlink(source), target)
            continue
        _mountpoint(source, target)
        _mount(source, target, "", MS_BIND | MS_REC)
    os.close(original)


def place(source: str, target: str, read_only: bool, inner: list[str]) -> None:
    """Bind `source` at `target`; where other binds go inside it (`inner` targets: a code input
    inside the data input's folder), bind its entries one by one in a plain folder instead, so
    their mountpoints are made in the job's folder, never in the read-only original."""
    below = [t for t in inner if t.startswith(target.rstrip("/") + "/")]
    if not below or not read_only or not os.path.isdir(source):
        bind(source, target, read_only)
        return
    os.makedirs(target, exist_ok=True)
    for name in os.listdir(source):
        place(os.path.join(source, name), os.path.join(target, name), read_only, below)


def bind(source: str, target: str, read_only: bool) -> None:
    _mountpoint(source, target)
    _mount(source, target, "", MS_BIND | MS_REC)
    if read_only:
        kept = os.statvfs(target).f_flag
        flags = sum(flag for st, flag in KEPT_FLAGS.items() if kept & st)
        _mount("none", target, "", MS_REMOUNT | MS_BIND | MS_RDONLY | flags)


def _mountpoint(source: str, target: str) -> None:
    """An empty folder or file at `target`, as `source` is one."""
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if not os.path.exists(target):
            open(target, "a").close()


def main(argv: list[str]) -> None:
    plan, command = json.loads(argv[0]), argv[2:]
    try:
        enter(bool(plan.get("user")))
        if plan.get("tmpfs"):
            cover(plan["tmpfs"])
        binds = plan.get("binds", [])
        for index, (source, target, read_only) in enumerate(binds):
            place(source, target, read_only, [t for _, t, _ in binds[index + 1 :]])
        if plan.get("cwd"):
            os.chdir(plan["cwd"])
    except (SetupError, OSError) as error:
        print(f"cannot make the job's container filesystem: {error}", file=sys.stderr)
        sys.exit(FAILED)
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
