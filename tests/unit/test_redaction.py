"""Redaction by allow-list: what a URI, a connection string or a message may show of itself."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from genesis_flow.core.redaction import hidden_values, redact_text, redact_uri


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        # user-info: the password goes, the user name stays where it is a name
        ("postgresql://u:pw@h:5432/db", "postgresql://u:***@h:5432/db"),
        ("postgresql://u:se@cr/et@h/db", "postgresql://u:***@h/db"),
        ("mongodb://u:p:w@h/db", "mongodb://u:***@h/db"),
        ("mongodb://AKIAID@h/db", "mongodb://AKIAID@h/db"),
        ("wasbs://container@acct.blob.core.windows.net/p", "wasbs://container@acct.blob.core.windows.net/p"),
        ("https://TOKEN@github.com/o/r", "https://***@github.com/o/r"),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
        # query: every value goes unless its option is harmless and the value has its shape
        (
            "postgresql://u@h/db?sslmode=require&password=pw",
            "postgresql://u@h/db?sslmode=require&password=***",
        ),
        (
            "postgresql://u@h/db?sslpassword=pw&connect_timeout=5",
            "postgresql://u@h/db?sslpassword=***&connect_timeout=5",
        ),
        ("postgresql://u@h/db?options=-c%20x%3Dy", "postgresql://u@h/db?options=***"),
        (
            "postgresql://u@h/db?genesis_statement_timeout_ms=500",
            "postgresql://u@h/db?genesis_statement_timeout_ms=500",
        ),
        ("postgresql://u@h/db?PASSWORD=pw&x=1", "postgresql://u@h/db?PASSWORD=***&x=***"),
        (
            "mongodb://h/db?tls=true&tlsCertificateKeyFilePassword=pw&serverSelectionTimeoutMS=300",
            "mongodb://h/db?tls=true&tlsCertificateKeyFilePassword=***&serverSelectionTimeoutMS=300",
        ),
        (
            "mongodb://h/db?authMechanism=MONGODB-AWS&authMechanismProperties=AWS_SESSION_TOKEN:tok",
            "mongodb://h/db?authMechanism=MONGODB-AWS&authMechanismProperties=***",
        ),
        ("mongodb://h/db?SSL=TRUE;replicaSet=globaldb", "mongodb://h/db?SSL=TRUE;replicaSet=globaldb"),
        ("mongodb://h/db?ssl=tok&w=majority&w=tok", "mongodb://h/db?ssl=***&w=majority&w=***"),
        ("mongodb://h/db?authMechanism=tok", "mongodb://h/db?authMechanism=***"),
        ("mongodb://h/db?TOKEN", "mongodb://h/db?***"),
        ("mongodb://h/db#frag", "mongodb://h/db#***"),
        (
            "mongodb://h/db?genesis_cosmos=true&genesis_retry_budget_ms=250&retryWrites=false",
            "mongodb://h/db?genesis_cosmos=true&genesis_retry_budget_ms=250&retryWrites=false",
        ),
        ("sqlite:///x.db?mode=ro&uri=true&key=k", "sqlite:///x.db?mode=ro&uri=true&key=***"),
        (
            "https://acct.blob.core.windows.net/c/b?sv=2022-11-02&sp=r&sig=abc%3D",
            "https://acct.blob.core.windows.net/c/b?sv=***&sp=***&sig=***",
        ),
        # an "@" in the query hides more, never less
        ("mongodb://h/db?appName=a@b", "mongodb://***@b"),
        # connection strings: every value but the harmless keys
        (
            "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=k+/==;EndpointSuffix=core.windows.net",
            "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=***;EndpointSuffix=core.windows.net",
        ),
        (
            "BlobEndpoint=https://a.blob.core.windows.net/?sv=1&sig=s;SharedAccessSignature=sv=1&sig=s;",
            "BlobEndpoint=https://a.blob.core.windows.net/?sv=***&sig=***;SharedAccessSignature=***;",
        ),
        (
            "AccountEndpoint=https://x.documents.azure.com:443/;AccountKey=k;",
            "AccountEndpoint=https://x.documents.azure.com:443/;AccountKey=***;",
        ),
        ("memory:", "memory:"),
        ("sqlite:///genesis.db", "sqlite:///genesis.db"),
    ],
)
def test_redact_uri_shows_only_what_is_known_to_be_harmless(uri: str, shown: str) -> None:
    assert redact_uri(uri) == shown


def test_redaction_is_idempotent() -> None:
    uri = "mongodb://u:pw@h/db?ssl=true&authMechanismProperties=A:B&x=1#f"
    assert redact_uri(redact_uri(uri)) == redact_uri(uri)


@pytest.mark.parametrize(
    "template",
    [
        "Cannot open '{}': refused",
        'Cannot open "{}": refused',
        "cannot connect ({})",
        "uri={}, then more",
        "uri={}.",
        "[{}]",
        "<{}>",
        "`{}`",
        "{}",
        "before {} after",
    ],
)
@pytest.mark.parametrize(
    "uri",
    [
        "postgresql://u:SECRET1@h/db",
        "mongodb://u@h/db?sslpassword=SECRET1&ssl=true",
        "mongodb://u:p'SECRET1@h/db",
        "mongodb://u:p)SECRET1@h/db",
        "https://acct.blob.core.windows.net/c?sv=1&sig=SECRET1",
        "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=SECRET1;EndpointSuffix=core.windows.net",
    ],
)
def test_a_uri_anywhere_in_a_message_is_redacted(template: str, uri: str) -> None:
    text = redact_text(template.format(uri))
    assert "SECRET1" not in text
    assert "***" in text


def test_a_sas_token_without_its_url_is_redacted() -> None:
    assert redact_text("token ?sv=2020-01-01&sig=abc given") == "token ?sv=***&sig=*** given"


def test_text_without_uris_or_connection_strings_is_left_alone() -> None:
    for text in ("lr=0.1;momentum=0.9", "a@b.com wrote", "no secrets here", "x = 1; y = 2"):
        assert redact_text(text) == text


def test_values_a_driver_quotes_without_their_names_are_redacted_by_hidden_values() -> None:
    uri = "postgresql://u:p%40ss@h/db?sslmode=SECRET2&authMechanismProperties=AWS_SESSION_TOKEN:SECRET3"
    hidden = hidden_values(uri)
    message = 'invalid sslmode value: "SECRET2"; token SECRET3; password p@ss'
    shown = redact_text(message, hidden)
    assert all(secret not in shown for secret in ("SECRET2", "SECRET3", "p@ss")), shown


def test_a_long_message_is_redacted_in_linear_time() -> None:
    # The connection-string pattern must not backtrack over a long run without ";".
    text = "a=" * 50_000
    assert redact_text(text) == text


_SAFE = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=12
)
_OPTION = st.sampled_from(
    [
        "password",
        "sslpassword",
        "tlsCertificateKeyFilePassword",
        "authMechanismProperties",
        "x",
        "sig",
        "token",
    ]
)


@given(
    name=_OPTION,
    prefix=_SAFE,
    scheme=st.sampled_from(["mongodb", "postgresql", "https", "mongodb+srv", "wasbs"]),
)
def test_no_value_of_an_unlisted_option_survives(name: str, prefix: str, scheme: str) -> None:
    secret = f"QQ{prefix}ZZ"
    uri = f"{scheme}://u:{secret}@h:1/db?ssl=true&{name}={secret}&appName=app"
    for shown in (redact_uri(uri), redact_text(f"error at '{uri}': x"), redact_text(f"({uri})")):
        assert secret not in shown, shown
