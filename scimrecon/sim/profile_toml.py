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


def profile_toml(profile: Mapping[str, Mapping[str, Any]]) -> str:
    """Tables of scalar (or list-of-scalar) keys, in the order given."""
    lines = ["# Written by `scimrecon sim serve`: endpoints and ids only, never secrets."]
    for section, table in profile.items():
        lines += ["", f"[{section}]"]
        lines += [f"{key} = {_value(value)}" for key, value in table.items() if value is not None]
    return "\n".join(lines) + "\n"


def env_lines(secrets: Mapping[str, str]) -> str:
    return "".join(f"export {name}={shlex.quote(value)}\n" for name, value in secrets.items())
