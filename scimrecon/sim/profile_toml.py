"""Write the simulator's profile and its secrets file.

`sim serve` hands the user two files: a profile (endpoints and ids, safe to share) and
FILE.env with the secrets as `export VAR=value` lines, created 0600 from the start so the keys
are never readable by others, not even for a moment. The profile format is the one
`scimrecon.config` reads; the stdlib reads TOML but cannot write it, hence the small writer.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    text = json.dumps(str(value), ensure_ascii=False)  # JSON escapes are valid TOML escapes
    return text.replace("\x7f", "\\u007f")


#: The first words of both files `sim serve` writes: a file that does not start with them is
#: somebody's own (a real profile, real keys) and is never replaced (`sim_file_problem`).
WRITTEN_BY = "# Written by `scimrecon sim serve`"


def sim_file_problem(path: Path) -> str | None:
    """Why `sim serve` may not write `path`, or None: it is new, or one it wrote before."""
    try:
        with path.open("rb") as fh:
            head = fh.read(len(WRITTEN_BY))
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot read it ({exc.strerror})"
    if head != WRITTEN_BY.encode():
        return (
            "it is not a file sim serve wrote (a real profile or its keys? if an older "
            "scimrecon sim serve wrote it, delete it)"
        )
    return None


def profile_toml(profile: Mapping[str, Mapping[str, Any]]) -> str:
    """Tables of scalar (or list-of-scalar) keys, in the order given."""
    lines = [f"{WRITTEN_BY}: endpoints and ids only, never secrets."]
    for section, table in profile.items():
        lines += ["", f"[{section}]"]
        lines += [f"{key} = {_value(value)}" for key, value in table.items() if value is not None]
    return "\n".join(lines) + "\n"


def env_lines(secrets: Mapping[str, str]) -> str:
    head = f"{WRITTEN_BY}: fake keys of the simulator, never real ones.\n"
    return head + "".join(
        f"export {name}={shlex.quote(value)}\n" for name, value in secrets.items()
    )
