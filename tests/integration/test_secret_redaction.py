"""No secret of a URI in any output (issue 16): secret-bearing URIs of every kind we accept or
might be handed (SQL, MongoDB, Cosmos DB, Azure connection strings and SAS URLs), each with a
token of its own, go through every output a user sees: the CLI's table, ``--json`` and ``--csv``
commands and their one-line errors (URI given with ``--uri`` or from the environment),
``genesis doctor`` (table and ``--json``), the MlflowException texts of the API, warnings, and our
logging at DEBUG. The token must appear nowhere.

Only loopback is contacted: servers are a closed port on 127.0.0.1, and the URIs naming remote
hosts (Cosmos DB, mongodb+srv, Azure) are ones refused before any name is resolved.
"""

from __future__ import annotations

import logging
import socket
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

import genesis_flow as mlflow
from genesis_flow import MlflowClient
from genesis_flow.entrypoints.cli import app
from genesis_flow.exceptions import MlflowException
from tests.integration.api_state import ENV_VARS, clean_state  # noqa: F401 - autouse fixture


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


PORT = _closed_port()
MONGO_FAST = "serverSelectionTimeoutMS=100&connectTimeoutMS=100"

# id -> URI; {S} is the case's secret, {P} a closed port on 127.0.0.1.
CASES = {
    # SQL
    "pg-userinfo": "postgresql://u:{S}@127.0.0.1:{P}/db",
    "pg-psycopg": "postgresql+psycopg://u:{S}@127.0.0.1:{P}/db",
    "pg-genesis-scheme": "genesis+postgresql://u:{S}@127.0.0.1:{P}/db",
    "pg-unencoded-password": "postgresql://u:pa@{S}/x@127.0.0.1:{P}/db",
    "pg-query-password": "postgresql://u@127.0.0.1:{P}/db?password={S}",
    "pg-query-password-case": "postgresql://u@127.0.0.1:{P}/db?PassWord={S}&connect_timeout=2",
    "pg-sslpassword": "postgresql://u@127.0.0.1:{P}/db?sslmode=prefer&sslpassword={S}",
    "pg-sslkey": "postgresql://u@127.0.0.1:{P}/db?sslmode=require&sslkey=/keys/{S}.pem",
    "pg-options": "postgresql://u@127.0.0.1:{P}/db?options=-c%20app.token%3D{S}",
    "pg-unknown-option": "postgresql://u@127.0.0.1:{P}/db?token={S}",
    "pg-value-echoed-by-driver": "postgresql://u@127.0.0.1:{P}/db?sslmode={S}",
    "sqlite-value-echoed-by-driver": "sqlite:///gf.db?timeout={S}",
    # MongoDB
    "mongo-userinfo": "mongodb://u:{S}@127.0.0.1:{P}/db?" + MONGO_FAST,
    "mongo-unencoded-password": "mongodb://u:pw@{S}@127.0.0.1:{P}/db",
    "mongo-tls-key-password": "mongodb://127.0.0.1:{P}/db?tls=true&tlsCertificateKeyFilePassword={S}&"
    + MONGO_FAST,
    "mongo-tls-key-file": "mongodb://127.0.0.1:{P}/db?tls=true&tlsCertificateKeyFile=/nonexistent/{S}.pem",
    "mongo-aws-session-token": (
        "mongodb://127.0.0.1:{P}/db?authMechanism=MONGODB-AWS"
        "&authMechanismProperties=AWS_SESSION_TOKEN:{S}&" + MONGO_FAST
    ),
    "mongo-aws-secret-key": "mongodb://AKIAEXAMPLE:{S}@127.0.0.1:{P}/db?authMechanism=MONGODB-AWS&"
    + MONGO_FAST,
    "mongo-oidc": (
        "mongodb://127.0.0.1:{P}/db?authMechanism=MONGODB-OIDC"
        "&authMechanismProperties=ENVIRONMENT:azure,TOKEN_RESOURCE:{S}&" + MONGO_FAST
    ),
    "mongo-unknown-option": "mongodb://127.0.0.1:{P}/db?myToken={S}&" + MONGO_FAST,
    "mongo-value-echoed-by-driver": "mongodb://127.0.0.1:{P}/db?readPreference={S}&" + MONGO_FAST,
    "mongo-refused-options": "mongodb://u:{S}@127.0.0.1:{P}/db?ssl=true&tls=false",
    "mongo-srv-userinfo": "mongodb+srv://u:{S}@cluster0.example.com:27017/db",
    "mongo-srv-option": "mongodb+srv://cluster0.example.com:27017/db?tlsCertificateKeyFilePassword={S}",
    # Cosmos DB
    "cosmos-key": "mongodb://acct:{S}@acct.mongo.cosmos.azure.com:10255/db?ssl=true&tls=false&replicaSet=globaldb",
    "cosmos-option": (
        "mongodb://acct@a.mongo.cosmos.azure.com:10255,b.mongo.cosmos.azure.com:10255/db"
        "?directConnection=true&tlsCertificateKeyFilePassword={S}"
    ),
    "cosmos-forced": "mongodb://acct:{S}@127.0.0.1:{P}/db?genesis_cosmos=true&" + MONGO_FAST,
    # Azure
    "azure-connection-string": (
        "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={S};EndpointSuffix=core.windows.net"
    ),
    "azure-connection-string-sas": (
        "BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature=sv=2022-11-02&ss=b&sig={S}"
    ),
    "azure-sas-url": "https://acct.blob.core.windows.net/c?sv=2022-11-02&sp=r&sig={S}",
    "wasbs-sas": "wasbs://c@acct.blob.core.windows.net/p?sv=2022-11-02&sig={S}",
    "https-token-user": "https://{S}@tracking.example.com/",
    "http-password": "http://u:{S}@127.0.0.1:{P}/",
}


def _secret(case: str) -> str:
    return f"Qx{sorted(CASES).index(case):02d}SeCrEtZ"


def _uri(case: str) -> str:
    return CASES[case].replace("{S}", _secret(case)).replace("{P}", str(PORT))


def _cli(args: list[str], env: dict[str, str] | None = None) -> str:
    result = CliRunner().invoke(app(), args, env=env)
    text = result.output + result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        text += "".join(traceback.format_exception(result.exception))
    # Exit 1: the command ran and failed on the URI (2 would be a usage error: the URI unused).
    assert result.exit_code == 1, f"{args}: exit {result.exit_code}\n{text}"
    return text


def _api(call: Callable[[], object]) -> str:
    with pytest.raises(MlflowException) as caught:
        call()
    return f"{caught.value}\n{caught.value!r}\n{caught.value.message}"


def _fluent(uri: str) -> object:
    mlflow.set_tracking_uri(uri)
    return mlflow.search_experiments()


def _outputs(uri: str) -> dict[str, Callable[[], str]]:
    env_free = {name: "" for name in ENV_VARS}
    return {
        "cli table": lambda: _cli(["experiments", "list", "--uri", uri]),
        "cli --json": lambda: _cli(["experiments", "list", "--uri", uri, "--json"]),
        "cli --csv": lambda: _cli(["experiments", "list", "--uri", uri, "--csv"]),
        "cli GENESIS_TRACKING_URI": lambda: _cli(
            ["experiments", "list"], {**env_free, "GENESIS_TRACKING_URI": uri}
        ),
        "cli MLFLOW_TRACKING_URI": lambda: _cli(["models", "list"], {**env_free, "MLFLOW_TRACKING_URI": uri}),
        "doctor": lambda: _cli(["doctor", "--uri", uri]),
        "doctor --json": lambda: _cli(["doctor", "--uri", uri, "--json"]),
        "api MlflowClient": lambda: _api(lambda: MlflowClient(tracking_uri=uri).search_experiments()),
        "api fluent": lambda: _api(lambda: _fluent(uri)),
        # What real mlflow (and `mlflow server`, its log and its HTTP answers) gets from the plugin.
        "plugin (real mlflow)": lambda: _plugin(uri),
    }


def _plugin(uri: str) -> str:
    mlflow_exceptions = pytest.importorskip("mlflow.exceptions")
    from genesis_flow.entrypoints.plugin.tracking import GenesisTrackingStore

    with pytest.raises(mlflow_exceptions.MlflowException) as caught:
        GenesisTrackingStore(uri).search_experiments()
    return f"{caught.value}\n{caught.value!r}\n{caught.value.message}"


@pytest.mark.parametrize("case", sorted(CASES))
def test_no_secret_in_any_output(case: str, caplog: pytest.LogCaptureFixture) -> None:
    secret, uri = _secret(case), _uri(case)
    caplog.set_level(logging.DEBUG)
    leaked: dict[str, str] = {}
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        for output, produce in _outputs(uri).items():
            text = produce()
            if secret.lower() in text.lower():
                leaked[output] = text
    for warning in warned:
        if secret.lower() in str(warning.message).lower():
            leaked["warnings"] = str(warning.message)
    logged = [
        record.getMessage() for record in caplog.records if secret.lower() in record.getMessage().lower()
    ]
    if logged:
        leaked["logging"] = "\n".join(logged)
    assert not leaked, "\n\n".join(f"--- {output}:\n{text}" for output, text in leaked.items())


def test_the_cases_cover_every_kind_of_secret() -> None:
    prefixes = {case.split("-")[0] for case in CASES}
    assert len(CASES) >= 25
    assert prefixes >= {"pg", "sqlite", "mongo", "cosmos", "azure", "wasbs"}


@pytest.mark.parametrize(
    "args",
    [
        ["experiments", "list"],
        ["experiments", "list", "--json"],
        ["runs", "list", "--experiment", "0", "--csv"],
        ["demo"],
    ],
    ids=["table", "json", "csv", "demo"],
)
def test_a_command_that_succeeds_shows_no_secret_either(args: list[str], tmp_path: Path) -> None:
    # A store that opens fine (SQLite ignores the option), reached through the environment.
    secret = "Qx99SeCrEtZ"
    uri = f"sqlite:///{tmp_path}/ok.db?token={secret}"
    result = CliRunner().invoke(app(), args, env={"GENESIS_TRACKING_URI": uri})
    assert result.exit_code == 0, result.output
    assert secret not in result.output + result.stderr
