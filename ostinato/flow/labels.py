"""What a label given from outside (an API call, a trigger event) may be: the one rule,
pure, for every place that accepts labels.

A label's key and value are text without control characters (a NUL, CR or LF in a label
breaks logs, headers and the UI that show it), of bounded size, and keys under `system.`
are Kestra's own (`system.correlationId` links an execution to its lineage): only the
engine sets them. Kestra refuses them the same way ("System labels can only be set by
Kestra itself").
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

#: keys under this prefix are set by the engine only
SYSTEM_PREFIX = "system."
#: the longest key, in characters
MAX_KEY_CHARS = 256
#: the longest value, in characters
MAX_VALUE_CHARS = 1024
#: the most labels one execution may be given
MAX_LABELS = 100


def _control_character(text: str) -> str | None:
    """The first control character of `text` (Unicode category Cc, e.g. NUL, CR, LF, TAB)
    as `U+000D`, or None."""
    for char in text:
        if unicodedata.category(char) == "Cc":
            return f"U+{ord(char):04X}"
    return None


def _shown(text: str, limit: int = 60) -> str:
    """The text as an error shows it: escaped, cut."""
    shown = text.encode("unicode_escape").decode("ascii")
    return shown if len(shown) <= limit else shown[:limit] + "..."


def label_errors(labels: Mapping[str, str], *, allow_system: bool = False) -> list[str]:
    """Every reason `labels` may not be accepted, one message per problem naming the label
    and the limit; empty when they may. `allow_system`: the engine's own labels (`system.*`)
    are allowed (for labels the engine itself sets, never for a caller's)."""
    errors: list[str] = []
    if len(labels) > MAX_LABELS:
        errors.append(f"{len(labels)} labels are given, more than the {MAX_LABELS} accepted")
    for key, value in labels.items():
        errors += _errors_of(str(key), str(value), allow_system)
    return errors


def _errors_of(key: str, value: str, allow_system: bool) -> list[str]:
    errors = []
    name = f"label `{_shown(key)}`"
    if not key.strip():
        errors.append(f"{name}: a label key cannot be empty")
    if (bad := _control_character(key)) is not None:
        errors.append(f"{name}: the key contains the control character {bad}")
    if (bad := _control_character(value)) is not None:
        errors.append(f"{name}: the value contains the control character {bad}")
    if len(key) > MAX_KEY_CHARS:
        errors.append(f"{name}: the key is {len(key)} characters, more than the "
                      f"{MAX_KEY_CHARS} characters accepted")
    if len(value) > MAX_VALUE_CHARS:
        errors.append(f"{name}: the value is {len(value)} characters, more than the "
                      f"{MAX_VALUE_CHARS} characters accepted")
    if not allow_system and key.startswith(SYSTEM_PREFIX):
        errors.append(f"{name}: system labels can only be set by the engine itself "
                      f"(keys starting with `{SYSTEM_PREFIX}` are reserved)")
    return errors
