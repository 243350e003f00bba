"""Secrets out of the text we show: URIs and connection strings in messages, logs and output."""

from __future__ import annotations

import re

# The password runs to the last "@": an unencoded "@" or "/" in it must not end the match early
# and leave the rest of the password in the message.
_PASSWORD = re.compile(r"(://[^:/@]*:).*@")
_SECRET_PARAMETER = re.compile(r"(?i)([?&;](?:password|pass|pwd|accountkey|sig)=)[^&;]*")


def redact_uri(uri: str) -> str:
    """``uri`` with any password (in the user info or a query parameter, and an account key or a
    SAS signature in a connection string) replaced by ``***``."""
    return _SECRET_PARAMETER.sub(r"\1***", _PASSWORD.sub(r"\1***@", uri))
