"""What to install for an optional feature, said in words that work where the user is.

The project is installed from a checkout as well as from an index, so ``pip install
'genesis-flow-store[mongo]'`` may name nothing the user's index has. The hint instead lists the
extra's own requirements, read from the installed distribution's metadata: pyproject's
``[project.optional-dependencies]`` stays their single source (docs/adr/0023-distribution-name.md).
"""

from __future__ import annotations

import re
import shlex
from importlib import metadata

DISTRIBUTION = "genesis-flow-store"


def extra_requirements(extra: str) -> list[str]:
    """The requirement strings the distribution declares for ``extra``, as pip takes them on a
    command line; an empty list when the distribution is not installed or lacks the extra."""
    try:
        declared = metadata.requires(DISTRIBUTION) or []
    except metadata.PackageNotFoundError:
        return []
    marker_of_extra = re.compile(rf"""\bextra\s*==\s*["']{re.escape(extra)}["']""")
    requirements = []
    for line in declared:
        requirement, _, marker = line.partition(";")
        if not marker_of_extra.search(marker):
            continue
        # Other conditions (e.g. python_version) stay: pip evaluates them on the command line too.
        rest = marker_of_extra.sub("", marker).strip()
        rest = re.sub(r"^and\s+|\s+and$", "", rest).strip()
        requirements.append(f"{requirement.strip()}; {rest}" if rest else requirement.strip())
    return requirements


def install_hint(extra: str) -> str:
    """A pip command installing what ``extra`` brings, naming the extra, e.g.
    ``pip install 'pymongo<5,>=4.6' (the [mongo] extra of genesis-flow-store)``."""
    requirements = extra_requirements(extra)
    if not requirements:
        return f"install the [{extra}] extra of {DISTRIBUTION}"
    return f"pip install {shlex.join(requirements)} (the [{extra}] extra of {DISTRIBUTION})"
