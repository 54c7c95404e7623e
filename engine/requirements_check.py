"""Whether this Python already satisfies a requirements.txt; run by the job's own interpreter.

`python requirements_check.py requirements.txt`: exit 0 when every requirement is installed at
a version its specifier allows, else 1 with one line per requirement that is not, and why. Never
installs anything. Standard library only (and `packaging` when the environment has it, for
version specifiers); Python 3.9 compatible, as it runs on the images' stacks too.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$")


def _allowed(specifier: str, version: str) -> bool:
    """Whether `version` meets `specifier`; without `packaging` in the environment only an exact
    pin (`==X`) is compared, other specifiers are taken as met."""
    if not specifier:
        return True
    try:
        from packaging.specifiers import SpecifierSet
    except ImportError:
        parts = [part.strip() for part in specifier.split(",")]
        return all(part[2:].strip() == version for part in parts if part.startswith("=="))
    return bool(SpecifierSet(specifier).contains(version, prereleases=True))


def unsatisfied(lines: list[str]) -> list[str]:
    """One reason per requirement line this Python does not satisfy."""
    found = []
    for raw in lines:
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = _NAME.match(line.split(";", 1)[0])
        if line.startswith("-") or match is None:
            found.append(f"{line}: not a plain requirement (options, files and URLs need pip)")
            continue
        name, specifier = match.group(1), match.group(3).strip()
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            found.append(f"{line}: {name} is not installed")
            continue
        if not _allowed(specifier, version):
            found.append(f"{line}: {name} {version} is installed")
    return found


def main(argv: list[str]) -> int:
    with open(argv[1], encoding="utf-8") as requirements:
        found = unsatisfied(requirements.read().splitlines())
    print("\n".join(found))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
