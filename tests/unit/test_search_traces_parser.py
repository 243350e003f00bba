"""parse_filter / parse_order_by for search_traces: MLflow's grammar, minus span and assessment
filters (NotSupported here)."""

from __future__ import annotations

import pytest

from genesis_flow.core.errors import InvalidParameterValue, NotSupported
from genesis_flow.core.search import (
    Comparator,
    Comparison,
    KeyType,
    OrderBy,
    SearchKind,
    parse_filter,
    parse_order_by,
)

TRACES = SearchKind.TRACES
A, T, MD = KeyType.ATTRIBUTE, KeyType.TAG, KeyType.METADATA
C = Comparator


def one(text: str) -> Comparison:
    (comparison,) = parse_filter(TRACES, text).comparisons
    return comparison


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("request_id = 'tr-1'", Comparison(A, "request_id", C.EQ, "tr-1")),
        ("attributes.request_id != 'tr-1'", Comparison(A, "request_id", C.NE, "tr-1")),
        ("attribute.request_id LIKE 'tr-%'", Comparison(A, "request_id", C.LIKE, "tr-%")),
        ("trace.request_id IN ('a', 'b')", Comparison(A, "request_id", C.IN, ("a", "b"))),
        ("request_id NOT IN ('a')", Comparison(A, "request_id", C.NOT_IN, ("a",))),
        ("timestamp_ms > 1000", Comparison(A, "timestamp_ms", C.GT, 1000)),
        ("timestamp >= 5", Comparison(A, "timestamp_ms", C.GE, 5)),
        ("trace.timestamp_ms = 5", Comparison(A, "timestamp_ms", C.EQ, 5)),
        ("execution_time_ms < 10", Comparison(A, "execution_time_ms", C.LT, 10)),
        ("execution_time <= 10", Comparison(A, "execution_time_ms", C.LE, 10)),
        ("end_time_ms != 3", Comparison(A, "end_time_ms", C.NE, 3)),
        ("end_time = 3", Comparison(A, "end_time_ms", C.EQ, 3)),
        ("status = 'OK'", Comparison(A, "status", C.EQ, "OK")),
        ("attributes.status IN ('OK', 'ERROR')", Comparison(A, "status", C.IN, ("OK", "ERROR"))),
        ("status NOT IN ('IN_PROGRESS')", Comparison(A, "status", C.NOT_IN, ("IN_PROGRESS",))),
        ("status ILIKE 'ok'", Comparison(A, "status", C.ILIKE, "ok")),
        ("client_request_id = 'c'", Comparison(A, "client_request_id", C.EQ, "c")),
        ("name = 'chat'", Comparison(A, "name", C.EQ, "chat")),
        ('name LIKE "c%"', Comparison(A, "name", C.LIKE, "c%")),
        ("run_id = 'r1'", Comparison(A, "run_id", C.EQ, "r1")),
        ("tags.env = 'prod'", Comparison(T, "env", C.EQ, "prod")),
        ("tag.env != 'prod'", Comparison(T, "env", C.NE, "prod")),
        ("tags.env LIKE 'p%'", Comparison(T, "env", C.LIKE, "p%")),
        ("tags.env ILIKE 'P%'", Comparison(T, "env", C.ILIKE, "P%")),
        ("tags.env IS NULL", Comparison(T, "env", C.IS_NULL, None)),
        ("tags.env IS NOT NULL", Comparison(T, "env", C.IS_NOT_NULL, None)),
        ("tags.`mlflow.traceName` = 'x'", Comparison(T, "mlflow.traceName", C.EQ, "x")),
        ("tags.mlflow.traceName = 'x'", Comparison(T, "mlflow.traceName", C.EQ, "x")),
        ("tags.\"a b\" = 'x'", Comparison(T, "a b", C.EQ, "x")),
        # RLIKE: every string key of a trace, as MLflow's trace grammar (and no other) has it
        ("tags.env RLIKE '^p'", Comparison(T, "env", C.RLIKE, "^p")),
        ("metadata.user rlike 'a.*b'", Comparison(MD, "user", C.RLIKE, "a.*b")),
        ('name RLIKE "[Cc]hat"', Comparison(A, "name", C.RLIKE, "[Cc]hat")),
        ("status RLIKE 'O'", Comparison(A, "status", C.RLIKE, "O")),
        ("request_id RLIKE 'tr-'", Comparison(A, "request_id", C.RLIKE, "tr-")),
        ("client_request_id RLIKE 'c'", Comparison(A, "client_request_id", C.RLIKE, "c")),
        ("run_id RLIKE '1$'", Comparison(A, "run_id", C.RLIKE, "1$")),
        # name and run_id are a tag and a metadata entry in MLflow, so they may be missing
        ("name IS NULL", Comparison(A, "name", C.IS_NULL, None)),
        ("run_id IS NOT NULL", Comparison(A, "run_id", C.IS_NOT_NULL, None)),
        ("metadata.user = 'alice'", Comparison(MD, "user", C.EQ, "alice")),
        ("request_metadata.user != 'alice'", Comparison(MD, "user", C.NE, "alice")),
        ("metadata.`mlflow.sourceRun` LIKE 'r%'", Comparison(MD, "mlflow.sourceRun", C.LIKE, "r%")),
        ("metadata.a.b IS NULL", Comparison(MD, "a.b", C.IS_NULL, None)),
        ("metadata.user IS NOT NULL", Comparison(MD, "user", C.IS_NOT_NULL, None)),
    ],
)
def test_filters(text: str, expected: Comparison) -> None:
    assert one(text) == expected


def test_comparisons_join_with_and() -> None:
    parsed = parse_filter(TRACES, "status = 'OK' and tags.k != 'v' AND timestamp_ms > 1")
    assert parsed.comparisons == (
        Comparison(A, "status", C.EQ, "OK"),
        Comparison(T, "k", C.NE, "v"),
        Comparison(A, "timestamp_ms", C.GT, 1),
    )


@pytest.mark.parametrize("text", [None, ""])
def test_empty_filter(text: str | None) -> None:
    assert not parse_filter(TRACES, text)


@pytest.mark.parametrize(
    "text",
    [
        # unknown keys and prefixes
        "nope = 'x'",
        "experiment_id = '1'",
        "foo.x = 'a'",
        "metrics.m > 1",
        "params.p = 'x'",
        "run_name = 'x'",
        # bad comparators
        "status < 'OK'",
        "status == 'OK'",
        "tags.x > 'a'",
        "metadata.x <= 'a'",
        "tags.x IN ('a')",
        "metadata.x NOT IN ('a')",
        "timestamp_ms LIKE 5",
        "request_id IS NULL",
        "client_request_id IS NOT NULL",
        "timestamp_ms IS NULL",
        "status IS NOT NULL",
        "status IS 'OK'",
        "timestamp_ms RLIKE '1'",
        "tags.x NOT RLIKE 'a'",
        "tags.x REGEXP 'a'",
        "tags.x RLIKE ('a')",
        "status RLIKE ('OK')",
        "tags.x RLIKE 5",
        # a pattern no store could run
        "tags.x RLIKE '[a'",
        "name RLIKE 'a{2,1}'",
        "metadata.x RLIKE '(?<=a+)b'",
        # bad values
        "timestamp_ms = '5'",
        "timestamp_ms > abc",
        "execution_time_ms IN (1, 2)",
        "tags.x = 5",
        "request_id = tr",
        "status IN 'OK'",
        "status = ",
        # bad structure
        "status = 'OK' OR status = 'ERROR'",
        "(status = 'OK')",
        "status",
    ],
)
def test_bad_filters(text: str) -> None:
    with pytest.raises(InvalidParameterValue):
        parse_filter(TRACES, text)


@pytest.mark.parametrize(
    "text",
    [
        "span.name = 'x'",
        "span.type = 'LLM'",
        "span.attributes.x = 'y'",
        "span.content LIKE '%a%'",
        "feedback.quality = 'good'",
        "expectation.answer = 'x'",
        "issue.id = 'x'",
        "text LIKE '%hello%'",
        "trace.text ILIKE '%a%'",
        "attributes.prompt = 'x'",
        "prompt = 'x'",
        "status = 'OK' AND span.name = 'x'",
    ],
)
def test_span_assessment_issue_and_text_filters_are_not_supported(text: str) -> None:
    with pytest.raises(NotSupported):
        parse_filter(TRACES, text)


@pytest.mark.parametrize(
    ("clauses", "expected"),
    [
        ([], ()),
        (None, ()),
        (["timestamp_ms"], (OrderBy(A, "timestamp_ms", True),)),
        (["timestamp DESC"], (OrderBy(A, "timestamp_ms", False),)),
        (["execution_time asc"], (OrderBy(A, "execution_time_ms", True),)),
        (["end_time DESC"], (OrderBy(A, "end_time_ms", False),)),
        (["attributes.status"], (OrderBy(A, "status", True),)),
        (["trace.request_id DESC"], (OrderBy(A, "request_id", False),)),
        (["experiment_id"], (OrderBy(A, "experiment_id", True),)),
        (["name DESC"], (OrderBy(A, "name", False),)),
        (["run_id"], (OrderBy(A, "run_id", True),)),
        (["tags.env DESC"], (OrderBy(T, "env", False),)),
        (["tags.`a.b`"], (OrderBy(T, "a.b", True),)),
        (["metadata.user"], (OrderBy(MD, "user", True),)),
        (["request_metadata.user DESC"], (OrderBy(MD, "user", False),)),
        (
            ["status ASC", "tags.status DESC", "metadata.status"],
            (OrderBy(A, "status", True), OrderBy(T, "status", False), OrderBy(MD, "status", True)),
        ),
    ],
)
def test_order_by(clauses: list[str] | None, expected: tuple[OrderBy, ...]) -> None:
    assert parse_order_by(TRACES, clauses) == expected


@pytest.mark.parametrize(
    "clauses",
    [
        ["nope"],
        ["client_request_id"],
        ["status sideways"],
        ["status ASC DESC"],
        ["metrics.m"],
        ["foo.x"],
        [""],
        "timestamp_ms",
        # duplicate fields, through aliases too
        ["timestamp_ms", "timestamp_ms DESC"],
        ["timestamp DESC", "timestamp_ms ASC"],
        ["execution_time", "execution_time_ms"],
        ["end_time", "attributes.end_time_ms"],
        ["tags.x", "tag.x DESC"],
        ["metadata.a", "request_metadata.a"],
    ],
)
def test_bad_order_by(clauses: list[str] | str) -> None:
    with pytest.raises(InvalidParameterValue):
        parse_order_by(TRACES, clauses)


@pytest.mark.parametrize("clauses", [["span.name"], ["feedback.x DESC"]])
def test_order_by_span_or_assessment_is_not_supported(clauses: list[str]) -> None:
    with pytest.raises(NotSupported):
        parse_order_by(TRACES, clauses)


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        (SearchKind.RUNS, "tags.t RLIKE 'a'"),
        (SearchKind.RUNS, "params.p RLIKE 'a'"),
        (SearchKind.RUNS, "attributes.run_name RLIKE 'a'"),
        (SearchKind.EXPERIMENTS, "name RLIKE 'a'"),
        (SearchKind.REGISTERED_MODELS, "name RLIKE 'a'"),
        (SearchKind.MODEL_VERSIONS, "tags.t RLIKE 'a'"),
        (SearchKind.LOGGED_MODELS, "name RLIKE 'a'"),
    ],
)
def test_rlike_belongs_to_traces_only(kind: SearchKind, text: str) -> None:
    # MLflow 3.17.2's other grammars refuse RLIKE too.
    with pytest.raises(InvalidParameterValue, match="RLIKE"):
        parse_filter(kind, text)
