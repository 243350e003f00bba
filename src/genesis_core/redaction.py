"""Secrets out of the text we show: URIs and connection strings in messages, logs and output.

Redaction is by allow-list, never by a list of secret names: drivers keep adding options that carry
secrets (``sslpassword``, ``tlsCertificateKeyFilePassword``, ``authMechanismProperties``), and a
name we did not think of must not leak. So every value of a URI's query, of a SAS token and of a
connection string becomes ``***`` unless its option is one known to be harmless *and* the value
has the shape that option takes (a boolean option shows ``true``, never a token put in its place).
The user-info password goes as well; a user name stays, except on schemes where a lone user-info
is usually a token (``https://TOKEN@host``).

:func:`redact_text` finds the URIs and connection strings inside any message (quoted, in
parentheses, after ``=``), so an error that quotes a URI, or a driver error that does, can be
redacted as a whole. :func:`redact_uri` redacts one URI or connection string.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote, unquote_plus

MASK = "***"

# --- what may be shown ------------------------------------------------------------------------------

_BOOLEAN = r"(?i:true|false|yes|no|on|off|1|0)"
_NUMBER = r"-?\d{1,19}(?:\.\d{1,9})?"
_NAME = r"[A-Za-z0-9_.\-]{1,128}"
_HOST = r"[A-Za-z0-9_.\-:/\[\],%]{1,255}"


def _enum(*values: str) -> str:
    return "(?i:" + "|".join(re.escape(value) for value in values) + ")"


def _options(shape: str, *names: str) -> dict[str, str]:
    return {name.lower(): shape for name in names}


# Option name (lower case: MongoDB's options are case-insensitive; libpq's are not, but showing
# ``SSLMODE=require`` harms no one) -> the shape of a value that may be shown.
_SHOWN: dict[str, re.Pattern[str]] = {
    name: re.compile(shape)
    for name, shape in {
        # MongoDB (pymongo) and our own options of a mongodb:// URI
        **_options(
            _BOOLEAN,
            "ssl",
            "tls",
            "tlsInsecure",
            "tlsAllowInvalidCertificates",
            "tlsAllowInvalidHostnames",
            "tlsDisableOCSPEndpointCheck",
            "tlsDisableCertificateRevocationCheck",
            "retryWrites",
            "retryReads",
            "directConnection",
            "loadBalanced",
            "journal",
            "genesis_cosmos",
        ),
        **_options(
            _NUMBER,
            "connectTimeoutMS",
            "socketTimeoutMS",
            "serverSelectionTimeoutMS",
            "waitQueueTimeoutMS",
            "heartbeatFrequencyMS",
            "localThresholdMS",
            "wTimeoutMS",
            "timeoutMS",
            "maxIdleTimeMS",
            "maxPoolSize",
            "minPoolSize",
            "maxConnecting",
            "maxStalenessSeconds",
            "zlibCompressionLevel",
            "srvMaxHosts",
            "genesis_retry_budget_ms",
        ),
        **_options(_NAME, "replicaSet", "authSource", "appName", "srvServiceName"),
        # The mechanism's name only: its properties (authMechanismProperties) carry tokens.
        "authmechanism": _enum(
            "DEFAULT",
            "SCRAM-SHA-1",
            "SCRAM-SHA-256",
            "MONGODB-CR",
            "MONGODB-X509",
            "MONGODB-AWS",
            "MONGODB-OIDC",
            "GSSAPI",
            "PLAIN",
        ),
        "readpreference": _enum("primary", "primaryPreferred", "secondary", "secondaryPreferred", "nearest"),
        "readconcernlevel": _enum("local", "majority", "linearizable", "available", "snapshot"),
        "w": r"\d{1,4}|(?i:majority)",
        "compressors": r"(?i:(?:snappy|zlib|zstd|noop)(?:,(?:snappy|zlib|zstd|noop))*)",
        "uuidrepresentation": _enum("unspecified", "standard", "pythonLegacy", "javaLegacy", "csharpLegacy"),
        "servermonitoringmode": _enum("auto", "stream", "poll"),
        # PostgreSQL (libpq parameters in a postgresql:// URI)
        **_options(
            _NUMBER,
            "connect_timeout",
            "keepalives",
            "keepalives_idle",
            "keepalives_interval",
            "keepalives_count",
            "tcp_user_timeout",
            "port",
            "genesis_statement_timeout_ms",
            "sslcompression",
        ),
        **_options(_NAME, "application_name", "fallback_application_name", "client_encoding", "dbname"),
        **_options(_HOST, "host", "hostaddr"),
        "sslmode": _enum("disable", "allow", "prefer", "require", "verify-ca", "verify-full"),
        "gssencmode": _enum("disable", "prefer", "require"),
        "channel_binding": _enum("disable", "prefer", "require"),
        "target_session_attrs": _enum(
            "any", "read-write", "read-only", "primary", "standby", "prefer-standby"
        ),
        "load_balance_hosts": _enum("disable", "random"),
        "sslnegotiation": _enum("postgres", "direct"),
        # SQLite (sqlite3 URI filenames through SQLAlchemy)
        **_options(_BOOLEAN, "uri", "check_same_thread", "immutable", "nolock"),
        "timeout": _NUMBER,
        "mode": _enum("ro", "rw", "rwc", "memory"),
        "cache": _enum("shared", "private"),
    }.items()
}

# Keys of Azure-style connection strings (``Key=value;Key=value``) whose value may be shown.
_ENDPOINT = object()  # a URI: shown redacted
_CONNECTION_SHOWN: dict[str, re.Pattern[str] | object] = {
    "defaultendpointsprotocol": re.compile(_enum("http", "https")),
    "accountname": re.compile(_NAME),
    "endpointsuffix": re.compile(_HOST),
    "usedevelopmentstorage": re.compile(_BOOLEAN),
    "blobendpoint": _ENDPOINT,
    "queueendpoint": _ENDPOINT,
    "tableendpoint": _ENDPOINT,
    "fileendpoint": _ENDPOINT,
    "dfsendpoint": _ENDPOINT,
    "accountendpoint": _ENDPOINT,
    "endpoint": _ENDPOINT,
    "developmentstorageproxyuri": _ENDPOINT,
}
# A ``;``-separated run of pairs is a connection string when one of its keys is one of these:
# recognising the format needs names; deciding what is secret in it does not.
_CONNECTION_KEYS = frozenset(
    {
        *_CONNECTION_SHOWN,
        "accountkey",
        "sharedaccesssignature",
        "sharedaccesskey",
        "sharedaccesskeyname",
        "entitypath",
        "password",
        "pwd",
    }
)

# A lone user-info (no ":") is a user name (or, in wasbs://, a container) on these schemes; on any
# other (https://TOKEN@host) it is taken for a token.
_USER_NAME_SCHEME = re.compile(r"(?i)(?:genesis\+)?(?:mongodb|postgres|mysql|mssql|wasb|abfs)[a-z0-9+.\-]*")


_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")


def _shown(name: str, value: str) -> bool:
    shape = _SHOWN.get(name.lower())
    return shape is not None and shape.fullmatch(value) is not None


# --- the public face ------------------------------------------------------------------------------


def redact_uri(uri: str) -> str:
    """``uri`` (one URI, SAS-bearing URL or connection string) with every secret replaced by
    ``***``: the user-info password, every query value whose option is not known to be harmless,
    the fragment, and every connection-string value that is not known to be harmless."""
    return _Redaction().uri(uri)


def redact_text(text: str, hidden: Iterable[str] = ()) -> str:
    """``text`` (a message, a log line) with every URI and connection string in it redacted as
    :func:`redact_uri` does, wherever it stands: quoted, in parentheses, after ``=`` or as a word
    of its own; and every string of ``hidden`` (:func:`hidden_values` of the URI the text is
    about: a driver's message may quote an option's value without its name) replaced too."""
    for value in hidden:
        # Case-blind: some drivers lower-case the text they quote.
        text = re.sub(re.escape(value), MASK, text, flags=re.IGNORECASE)
    if not any(c in text for c in "=@#?"):
        return text  # no query, user-info, fragment or connection string: the common case
    return _Redaction().text(text)


def hidden_values(uri: str) -> tuple[str, ...]:
    """What :func:`redact_uri` hides in ``uri``, as written and percent-decoded, and their parts
    (see ``_PARTS``), longest first, for :func:`redact_text`.
    Values under three characters are left out: masking them would garble the message."""
    redaction = _Redaction()
    redaction.uri(uri)
    found: set[str] = set()
    for value in redaction.hidden:
        for variant in (value, unquote(value), unquote_plus(value)):
            found.add(variant)
            found.update(part for part in _PARTS.split(variant) if len(part) >= _MIN_PART)
    return tuple(sorted((v for v in found if len(v) >= _MIN_HIDDEN), key=len, reverse=True))


_MIN_HIDDEN = 3
_MIN_PART = 6
# A list value (``AWS_SESSION_TOKEN:...,X:...``) is quoted in parts; a password with an unencoded
# "@" or "/" is read by a driver as a password, a host and a path.
_PARTS = re.compile(r"[,:@/?#&=]")

# --- one pass ---------------------------------------------------------------------------------------

# Possessive quantifiers: a long message without the ";" a match needs fails in linear time.
_KEY = r"[A-Za-z][A-Za-z0-9_]*+"
_PAIR = rf"{_KEY}=[^;\s'\"]*+"
# Two or more "Key=value" joined by ";" (a trailing ";" allowed), not inside a URI's query.
_CONNECTION_STRING = re.compile(rf"(?<![\w=&?%/.+\-]){_PAIR}(?:;{_PAIR})+;?|(?<![\w=&?%/.+\-]){_PAIR};")
_URI_START = re.compile(r"(?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]*://")
# A query string on its own (a SAS token quoted without its URL): "?sv=...&sig=...".
_BARE_QUERY = re.compile(rf"\?{_KEY}=[^\s'\"]*")
_CLOSERS = {"'": "'", '"': '"', "`": "`", "(": ")", "[": "]", "<": ">", "{": "}"}
_TRAILING = ".,;:!?)]}>'\"`"
_SPACE = re.compile(r"\s")


class _Redaction:
    """One redaction; ``hidden`` collects every value it masked."""

    def __init__(self) -> None:
        self.hidden: list[str] = []

    def mask(self, value: str) -> str:
        if value:
            self.hidden.append(value)
        return MASK

    # one URI or connection string

    def uri(self, uri: str) -> str:
        scheme, sep, rest = uri.partition("://")
        if not sep or _SCHEME.fullmatch(scheme) is None:
            return self.text(uri)  # a connection string, or text around a URI
        userinfo = ""
        if "@" in rest:
            # The user-info runs to the last "@": a password with an unencoded "@", "/" or "?"
            # must not leave its tail in the message. An "@" in the query hides more, never less.
            candidate, _, rest = rest.rpartition("@")
            userinfo = self.userinfo(scheme, candidate) + "@"
        return f"{scheme}://{userinfo}{self.after_authority(rest)}"

    def userinfo(self, scheme: str, userinfo: str) -> str:
        user, colon, password = userinfo.partition(":")
        if any(c in user for c in "/?#[]"):
            return self.mask(userinfo)  # not a plain user name: which part is secret cannot be told
        if colon:
            return f"{user}:{self.mask(password)}"
        return user if _USER_NAME_SCHEME.fullmatch(scheme) else self.mask(user)

    def after_authority(self, rest: str) -> str:
        """``host/path?query#fragment`` with the query's values and the fragment redacted."""
        fragment_at, query_at = rest.find("#"), rest.find("?")
        if fragment_at != -1 and (query_at == -1 or fragment_at < query_at):
            return rest[:fragment_at] + self.fragment(rest[fragment_at + 1 :])
        if query_at == -1:
            return rest
        query, hash_, fragment = rest[query_at + 1 :].partition("#")
        tail = self.fragment(fragment) if hash_ else ""
        return rest[: query_at + 1] + self.pairs(query) + tail

    def fragment(self, fragment: str) -> str:
        return "#" + (self.mask(fragment) if fragment else "")

    def pairs(self, query: str) -> str:
        parts = re.split(r"([&;])", query)
        for index in range(0, len(parts), 2):
            item = parts[index]
            if not item:
                continue
            name, equals, value = item.partition("=")
            if not equals:
                parts[index] = self.mask(item)  # a bare token (``?TOKEN``)
            elif not _shown(name, value):
                parts[index] = f"{name}={self.mask(value)}"
        return "".join(parts)

    def connection_string(self, text: str) -> str:
        redacted = []
        for pair in text.split(";"):
            key, equals, value = pair.partition("=")
            if equals:
                shown = _CONNECTION_SHOWN.get(key.lower())
                if shown is _ENDPOINT:
                    value = self.uri(value)
                elif not (isinstance(shown, re.Pattern) and shown.fullmatch(value)):
                    value = self.mask(value)
                pair = f"{key}={value}"
            redacted.append(pair)
        return ";".join(redacted)

    # any text

    def text(self, text: str) -> str:
        text = _CONNECTION_STRING.sub(self._connection_match, text)
        pieces: list[str] = []
        position = 0
        while (match := _URI_START.search(text, position)) is not None:
            start = match.start()
            end = _uri_end(text, start)
            pieces.append(_BARE_QUERY.sub(self._bare_query, text[position:start]))
            pieces.append(self.uri(text[start:end]))
            position = end
        pieces.append(_BARE_QUERY.sub(self._bare_query, text[position:]))
        return "".join(pieces)

    def _connection_match(self, match: re.Match[str]) -> str:
        run = match.group(0)
        if not any(pair.partition("=")[0].lower() in _CONNECTION_KEYS for pair in run.split(";")):
            return run  # "a=1;b=2" in some message: not a connection string
        return self.connection_string(run)

    def _bare_query(self, match: re.Match[str]) -> str:
        return "?" + self.pairs(match.group(0)[1:])


def _uri_end(text: str, start: int) -> int:
    """Where the URI starting at ``start`` ends: at white space, or at the last closing quote
    or bracket matching the one before it (so a quote inside the password stays inside)."""
    space = _SPACE.search(text, start)
    end = space.start() if space else len(text)
    closer = _CLOSERS.get(text[start - 1]) if start else None
    if closer is not None:
        last = text.rfind(closer, start, end)
        if last != -1:
            return last
    # Punctuation after a URI written in prose belongs to the prose.
    while end > start and text[end - 1] in _TRAILING:
        end -= 1
    return end
