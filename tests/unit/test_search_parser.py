"""parse_filter / parse_order_by: MLflow 3.17.2's grammar, per search kind."""

from __future__ import annotations

import pytest

from genesis_flow.core.errors import InvalidParameterValue
from genesis_flow.core.search import (
    Comparator,
    Comparison,
    Filter,
    KeyType,
    OrderBy,
    SearchKind,
    parse_filter,
    parse_order_by,
)

RUNS = SearchKind.RUNS
EXPERIMENTS = SearchKind.EXPERIMENTS
MODELS = SearchKind.REGISTERED_MODELS
VERSIONS = SearchKind.MODEL_VERSIONS
LOGGED = SearchKind.LOGGED_MODELS

M, P, T, A, D = KeyType.METRIC, KeyType.PARAM, KeyType.TAG, KeyType.ATTRIBUTE, KeyType.DATASET
C = Comparator


def one(kind: SearchKind, text: str) -> Comparison:
    (comparison,) = parse_filter(kind, text).comparisons
    return comparison


# --- empty filters ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(SearchKind))
@pytest.mark.parametrize("text", [None, ""])
def test_empty_filter_matches_everything(kind: SearchKind, text: str | None) -> None:
    assert parse_filter(kind, text) == Filter()
    assert not parse_filter(kind, text)


@pytest.mark.parametrize("text", [" ", "   ", "\t\n"])
def test_whitespace_only_filter_is_rejected_as_mlflow_does(text: str) -> None:
    with pytest.raises(InvalidParameterValue, match="Could not be parsed"):
        parse_filter(RUNS, text)


# --- runs: every key type and comparator -----------------------------------------------------------


@pytest.mark.parametrize("op", ["=", "!=", "<", "<=", ">", ">="])
@pytest.mark.parametrize("prefix", ["metrics", "metric"])
def test_run_metric_comparators(op: str, prefix: str) -> None:
    assert one(RUNS, f"{prefix}.acc {op} 0.5") == Comparison(M, "acc", C(op), 0.5)


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("1", 1.0),
        ("-1", -1.0),
        ("0.5", 0.5),
        (".5", 0.5),
        ("5.", 5.0),
        ("-.5", -0.5),
        ("1e3", 1000.0),
        ("1E-3", 0.001),
        ("-1.5e+2", -150.0),
    ],
)
def test_run_metric_values_are_floats(literal: str, value: float) -> None:
    c = one(RUNS, f"metrics.acc = {literal}")
    assert c.value == value
    assert isinstance(c.value, float)


@pytest.mark.parametrize("op", ["=", "!=", "LIKE", "ILIKE", "like", "ilike", "Like"])
@pytest.mark.parametrize(
    ("prefix", "key_type"),
    [("params", P), ("param", P), ("parameter", P), ("parameters", P), ("tags", T), ("tag", T)],
)
def test_run_param_and_tag_string_comparators(op: str, prefix: str, key_type: KeyType) -> None:
    assert one(RUNS, f"{prefix}.lr {op} '0.1'") == Comparison(key_type, "lr", C(op.upper()), "0.1")


@pytest.mark.parametrize(
    ("text", "comparator"),
    [
        ("IS NULL", C.IS_NULL),
        ("is null", C.IS_NULL),
        ("IS NOT NULL", C.IS_NOT_NULL),
        ("is not null", C.IS_NOT_NULL),
    ],
)
@pytest.mark.parametrize(("prefix", "key_type"), [("params", P), ("tags", T)])
def test_run_params_and_tags_support_is_null(
    text: str, comparator: C, prefix: str, key_type: KeyType
) -> None:
    assert one(RUNS, f"{prefix}.opt {text}") == Comparison(key_type, "opt", comparator, None)


@pytest.mark.parametrize("key", ["metrics.acc", "attributes.run_name", "end_time", "datasets.name"])
def test_is_null_only_for_run_params_and_tags(key: str) -> None:
    with pytest.raises(InvalidParameterValue, match="IS NULL / IS NOT NULL"):
        parse_filter(RUNS, f"{key} IS NULL")


@pytest.mark.parametrize("prefix", ["", "attributes.", "attribute.", "attr.", "run.", "`attributes`."])
@pytest.mark.parametrize("key", ["run_name", "status", "user_id", "artifact_uri", "run_id"])
@pytest.mark.parametrize("op", ["=", "!=", "LIKE", "ILIKE"])
def test_run_string_attributes(prefix: str, key: str, op: str) -> None:
    assert one(RUNS, f"{prefix}{key} {op} 'x'") == Comparison(A, key, C(op), "x")


@pytest.mark.parametrize("key", ["start_time", "end_time"])
@pytest.mark.parametrize("op", ["=", "!=", "<", "<=", ">", ">="])
def test_run_numeric_attributes(key: str, op: str) -> None:
    c = one(RUNS, f"attributes.{key} {op} 1000")
    assert c == Comparison(A, key, C(op), 1000)
    assert isinstance(c.value, int)


def test_run_time_float_literal_stays_float() -> None:
    assert one(RUNS, "start_time > 1.5").value == 1.5
    assert one(RUNS, "start_time = 1e3").value == 1000.0


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("created > 1", "start_time"),
        ("Created > 1", "start_time"),
        ("attr.created > 1", "start_time"),
        ("`Run name` = 'x'", "run_name"),
        ("\"run name\" = 'x'", "run_name"),
        ("`Run Name` = 'x'", "run_name"),
    ],
)
def test_run_attribute_aliases_are_canonical(text: str, key: str) -> None:
    assert one(RUNS, text).key == key


@pytest.mark.parametrize("op", ["IN", "NOT IN", "in", "not in"])
def test_run_id_in_list(op: str) -> None:
    c = one(RUNS, f"run_id {op} ('a', \"b\")")
    assert c == Comparison(A, "run_id", C(op.upper()), ("a", "b"))


@pytest.mark.parametrize(
    ("text", "items"),
    [("('a')", ("a",)), ("('a',)", ("a",)), ("( 'a' , 'b' )", ("a", "b")), ("('a' 'b')", ("ab",))],
)
def test_list_literals_follow_mlflow(text: str, items: tuple[str, ...]) -> None:
    assert one(RUNS, f"run_id IN {text}").value == items


@pytest.mark.parametrize("key", ["name", "digest", "context"])
@pytest.mark.parametrize("op", ["=", "!=", "LIKE", "ILIKE"])
@pytest.mark.parametrize("prefix", ["datasets", "dataset"])
def test_run_dataset_keys(key: str, op: str, prefix: str) -> None:
    assert one(RUNS, f"{prefix}.{key} {op} 'v'") == Comparison(D, key, C(op), "v")


@pytest.mark.parametrize("op", ["IN", "NOT IN"])
def test_run_dataset_lists(op: str) -> None:
    assert one(RUNS, f"datasets.name {op} ('a', 'b')") == Comparison(D, "name", C(op), ("a", "b"))


# --- quoting ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("tags.`my tag` = 'x'", "my tag"),
        ("tags.\"my tag\" = 'x'", "my tag"),
        ("tags.'my tag' = 'x'", "my tag"),
        ("tags.mlflow.runName = 'x'", "mlflow.runName"),
        ("tags.`mlflow.runName` = 'x'", "mlflow.runName"),
        ("`tags`.team = 'x'", "team"),
        ("tags.1a = 'x'", "1a"),
        ("tags.日本 = 'x'", "日本"),
    ],
)
def test_key_quoting(text: str, key: str) -> None:
    assert one(RUNS, text).key == key


@pytest.mark.parametrize("text", ['metrics."my metric" > 1', "metrics.`my metric` > 1"])
def test_quoted_metric_keys(text: str) -> None:
    assert one(RUNS, text) == Comparison(M, "my metric", C.GT, 1.0)


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("'x'", "x"),
        ('"x"', "x"),
        ("''", ""),
        ('""', ""),
        ("'a b'", "a b"),
        ("'it''s'", "it''s"),
        ("'a\\'b'", "a\\'b"),
        ('"it\'s"', "it's"),
        ("'%_'", "%_"),
    ],
)
def test_string_values_are_the_raw_text_between_quotes(literal: str, value: str) -> None:
    assert one(RUNS, f"tags.t = {literal}").value == value


@pytest.mark.parametrize(
    "text",
    ["metrics.acc>0.5", "metrics.acc >0.5", "  metrics.acc   >   0.5  ", "metrics.acc\t>\n0.5"],
)
def test_whitespace_is_optional(text: str) -> None:
    assert one(RUNS, text) == Comparison(M, "acc", C.GT, 0.5)


# --- conjunctions ---------------------------------------------------------------------------------


@pytest.mark.parametrize("conj", ["AND", "and", "And"])
def test_and_joins_comparisons(conj: str) -> None:
    f = parse_filter(RUNS, f"metrics.a > 1 {conj} params.b = 'x' {conj} tags.c != 'y'")
    assert f.comparisons == (
        Comparison(M, "a", C.GT, 1.0),
        Comparison(P, "b", C.EQ, "x"),
        Comparison(T, "c", C.NE, "y"),
    )


@pytest.mark.parametrize(
    "text",
    [
        "AND metrics.a > 1",
        "metrics.a > 1 AND",
        "metrics.a > 1 AND AND params.b = 'x'",
        "metrics.a > 1 params.b = 'x'",
    ],
)
def test_stray_ands_are_tolerated_as_in_mlflow(text: str) -> None:
    assert parse_filter(RUNS, text).comparisons[0] == Comparison(M, "a", C.GT, 1.0)


def test_same_key_twice_keeps_both() -> None:
    f = parse_filter(RUNS, "params.lr = '0.1' AND params.lr = '0.01'")
    assert len(f.comparisons) == 2


# --- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("metrics.a > 1 OR metrics.b > 2", "OR"),
        ("(metrics.a > 1)", "parentheses"),
        ("metrics.a > 1 AND (params.b = 'x')", "parentheses"),
        ("metrics.acc", "comparator"),
        ("metrics.acc >", "value"),
        ("metrics.acc > '0.5'", "numeric"),
        ("metrics.acc = nan", "numeric"),
        ("metrics.acc IN (0.5)", "numeric"),
        ("metrics.acc LIKE '1'", "numeric"),
        ("metrics.acc > +1", "unexpected character '\\+'"),
        ("metrics.acc > 0x10", "malformed number"),
        ("metrics.acc > 1and params.b = 'x'", "malformed number"),
        ("params.lr > '0.1'", "Invalid comparator '>'"),
        ("tags.t == 'x'", "'=='"),
        ("tags.t <> 'x'", "'<>'"),
        ("tags.t NOT LIKE 'x'", "NOT LIKE"),
        ("tags.t IS 'x'", "IS"),
        ("tags.t IS NOT 'x'", "IS NOT"),
        ("params.lr = 0.1", "quoted string"),
        ("params.lr = abc", "not quoted"),
        ("params.lr IN ('a')", "Only"),
        ("tags.t = 'unterminated", "unterminated"),
        ('tags.t = "unterminated', "unterminated"),
        ("tags.`unterminated = 'x'", "unterminated"),
        ("bogus.x = 'a'", "Invalid entity type 'bogus'"),
        ("\"tags\".x = 'a'", "unexpected character '\\.'"),
        ("foo = 'a'", "Invalid attribute key 'foo'"),
        ("experiment_id = '1'", "Invalid attribute key"),
        ("lifecycle_stage = 'active'", "Invalid attribute key"),
        ("'run_name' = 'x'", "expected a key"),
        ("datasets.source = 'x'", "Invalid dataset key 'source'"),
        ("status IN ('RUNNING')", "Only \\['run_id'\\]"),
        ("run_name IN ('x')", "Only"),
        ("run_id = ('a')", "IN or NOT IN"),
        ("run_id IN 'a'", "parenthesised list"),
        ("run_id IN ()", "empty list"),
        ("run_id IN (1)", r"got different type in list: \(1,\)"),
        ("run_id IN (a)", "expected a non-empty list of quoted string values, found 'a'"),
        ("run_id IN ('a',,'b')", "expected a non-empty list"),
        ("run_id IN ('a'", "closing the list"),
        ("run_id IN ('a\\N{nope}')", "ill-formed list"),
        ("start_time > '1000'", "numeric"),
        ("start_time IN (1)", "numeric"),
        ("start_time LIKE 1", "Invalid comparator 'LIKE'"),
        ("tags.t = 'x';", "unexpected character ';'"),
        ("tags.t = 'x' -- comment", "unexpected character '-'"),
        ("tags. = 'x'", "expected a name"),
        ("tags.", "expected a name after '.' at position 5, found the end"),
        ("A.", "expected a name"),
        ("tags.`x`.", "expected a name"),
        ("tags.a-b = 'x'", "unexpected character '-'"),
        ("metrics.`a`b = 1", "unexpected 'b'"),
        ("= 1", "expected a key"),
        ("tags.t = 'x' )", "expected a key"),
        ("tags.t = NULL", "expected a value"),
        ("tags.t = 'x' , tags.u = 'y'", "expected a key"),
        ("metrics.a > 1 OR", "OR"),
    ],
)
def test_run_filter_errors_name_the_offending_piece(text: str, fragment: str) -> None:
    with pytest.raises(InvalidParameterValue, match=fragment):
        parse_filter(RUNS, text)


def test_filter_must_be_a_string() -> None:
    with pytest.raises(InvalidParameterValue):
        parse_filter(RUNS, 42)  # type: ignore[arg-type]


# --- experiments ------------------------------------------------------------------------------------


@pytest.mark.parametrize("op", ["=", "!=", "LIKE", "ILIKE"])
@pytest.mark.parametrize("key", ["name", "attribute.name", '"name"', "`name`"])
def test_experiment_name(op: str, key: str) -> None:
    assert one(EXPERIMENTS, f"{key} {op} 'x'") == Comparison(A, "name", C(op), "x")


@pytest.mark.parametrize("key", ["creation_time", "last_update_time"])
@pytest.mark.parametrize("op", ["=", "!=", "<", "<=", ">", ">="])
def test_experiment_times_are_integers(key: str, op: str) -> None:
    c = one(EXPERIMENTS, f"{key} {op} 17")
    assert c == Comparison(A, key, C(op), 17)
    assert isinstance(c.value, int)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("experiment_id = '1'", "1"),
        ("experiment_id = '01'", "1"),
        ("experiment_id != '7'", "7"),
        ("experiment_id IN ('1', '02')", ("1", "2")),
        ("experiment_id NOT IN ('3')", ("3",)),
    ],
)
def test_experiment_ids_are_canonical_decimal_strings(text: str, value: object) -> None:
    assert one(EXPERIMENTS, text).value == value


@pytest.mark.parametrize("op", ["=", "!=", "LIKE", "ILIKE", "IS NULL", "IS NOT NULL"])
@pytest.mark.parametrize("prefix", ["tags", "tag"])
def test_experiment_tags(op: str, prefix: str) -> None:
    value = None if "NULL" in op else "v"
    suffix = "" if value is None else " 'v'"
    assert one(EXPERIMENTS, f"{prefix}.k {op}{suffix}") == Comparison(T, "k", C(op), value)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("attributes.name = 'x'", "Invalid entity type 'attributes'"),
        ("`tags`.k = 'x'", "Invalid entity type"),
        ("metrics.a > 1", "Invalid entity type 'metrics'"),
        ("name IN ('x')", "Only \\['experiment_id'\\]"),
        ("experiment_id = 1", "quoted string"),
        ("experiment_id = 'abc'", "Invalid experiment ID 'abc'"),
        ("experiment_id IN ('1', 'x')", "Invalid experiment ID 'x'"),
        ("experiment_id LIKE '1'", "Invalid comparator 'LIKE'"),
        ("creation_time = 1.5", "Invalid value for numeric attribute 'creation_time'"),
        ("creation_time = '5'", "numeric"),
        ("lifecycle_stage = 'active'", "Invalid attribute key"),
        ("name IS NULL", "IS NULL"),
        ("tags.k > 'x'", "Invalid comparator '>'"),
    ],
)
def test_experiment_filter_errors(text: str, fragment: str) -> None:
    with pytest.raises(InvalidParameterValue, match=fragment):
        parse_filter(EXPERIMENTS, text)


# --- registered models and model versions -----------------------------------------------------------


@pytest.mark.parametrize("op", ["=", "!=", "LIKE", "ILIKE"])
@pytest.mark.parametrize("kind", [MODELS, VERSIONS])
def test_registry_name_and_tags(op: str, kind: SearchKind) -> None:
    assert one(kind, f"name {op} 'm'") == Comparison(A, "name", C(op), "m")
    assert one(kind, f"attribute.name {op} 'm'") == Comparison(A, "name", C(op), "m")
    assert one(kind, f"tags.k {op} 'v'") == Comparison(T, "k", C(op), "v")
    assert one(kind, f"tags.\"k k\" {op} 'v'") == Comparison(T, "k k", C(op), "v")


@pytest.mark.parametrize("op", ["IN", "NOT IN"])
@pytest.mark.parametrize(("kind", "key"), [(MODELS, "name"), (VERSIONS, "name"), (VERSIONS, "run_id")])
def test_registry_lists(op: str, kind: SearchKind, key: str) -> None:
    assert one(kind, f"{key} {op} ('a', 'b')") == Comparison(A, key, C(op), ("a", "b"))


@pytest.mark.parametrize("op", ["=", "!=", "LIKE", "ILIKE"])
@pytest.mark.parametrize("key", ["run_id", "source_path"])
def test_model_version_string_attributes(op: str, key: str) -> None:
    assert one(VERSIONS, f"{key} {op} 'x'") == Comparison(A, key, C(op), "x")


@pytest.mark.parametrize("op", ["=", "!=", "<", "<=", ">", ">="])
@pytest.mark.parametrize("literal", ["3", "'3'", '"3"'])
def test_model_version_number_accepts_quoted_integers(op: str, literal: str) -> None:
    assert one(VERSIONS, f"version_number {op} {literal}") == Comparison(A, "version_number", C(op), 3)


@pytest.mark.parametrize(
    ("kind", "text", "fragment"),
    [
        (MODELS, "\"name\" = 'm'", "Invalid attribute key '\"name\"'"),
        (MODELS, "`name` = 'm'", "Invalid attribute key"),
        (MODELS, "name = 5", "quoted string"),
        (MODELS, "tags.k IN ('v')", "Only"),
        (MODELS, "tags.k IS NULL", "IS NULL"),
        (MODELS, "run_id = 'x'", "Invalid attribute key 'run_id'"),
        (MODELS, "params.p = 'x'", "Invalid entity type 'params'"),
        (VERSIONS, "version_number = 2.0", "Invalid value for numeric attribute 'version_number'"),
        (VERSIONS, "version_number = 'abc'", "Invalid value for numeric attribute"),
        (VERSIONS, "version_number IN (1)", "Only"),
        (VERSIONS, "source_path IN ('s')", "Only"),
        (VERSIONS, "creation_timestamp > 0", "Invalid attribute key 'creation_timestamp'"),
        (VERSIONS, "name LIKE 5", "quoted string"),
        (VERSIONS, "tags.k > 'v'", "Invalid comparator '>'"),
    ],
)
def test_registry_filter_errors(kind: SearchKind, text: str, fragment: str) -> None:
    with pytest.raises(InvalidParameterValue, match=fragment):
        parse_filter(kind, text)


# --- logged models ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("metrics.acc > 0.5", Comparison(M, "acc", C.GT, 0.5)),
        ("metrics.`my acc` <= 1", Comparison(M, "my acc", C.LE, 1.0)),
        ("params.p = '1'", Comparison(P, "p", C.EQ, "1")),
        ("params.p IN ('1', '2')", Comparison(P, "p", C.IN, ("1", "2"))),
        ("tags.t NOT IN ('x')", Comparison(T, "t", C.NOT_IN, ("x",))),
        ("tags.t ILIKE 'x%'", Comparison(T, "t", C.ILIKE, "x%")),
        ("name = 'a'", Comparison(A, "name", C.EQ, "a")),
        ("attributes.name IN ('a')", Comparison(A, "name", C.IN, ("a",))),
        ("model_type != 'x'", Comparison(A, "model_type", C.NE, "x")),
        ("status = 'READY'", Comparison(A, "status", C.EQ, "READY")),
        ("source_run_id = 'r'", Comparison(A, "source_run_id", C.EQ, "r")),
        ("experiment_id = '1'", Comparison(A, "experiment_id", C.EQ, "1")),
        ("creation_timestamp > 5", Comparison(A, "creation_timestamp", C.GT, 5)),
        ("creation_time > 5", Comparison(A, "creation_timestamp", C.GT, 5)),
        ("last_updated_timestamp <= 5", Comparison(A, "last_updated_timestamp", C.LE, 5)),
    ],
)
def test_logged_model_filters(text: str, expected: Comparison) -> None:
    assert one(LOGGED, text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("metric.acc > 0", "Invalid entity type 'metric'"),
        ("datasets.name = 'x'", "Invalid entity type 'datasets'"),
        ("metrics.acc LIKE 1", "Invalid comparator 'LIKE'"),
        ("creation_timestamp LIKE 1", "Invalid comparator"),
        ("metrics.acc = '1'", "numeric"),
        ("tags.t IS NULL", "IS NULL"),
        ("bogus = 'x'", "Invalid attribute key 'bogus'"),
    ],
)
def test_logged_model_filter_errors(text: str, fragment: str) -> None:
    with pytest.raises(InvalidParameterValue, match=fragment):
        parse_filter(LOGGED, text)


# --- order_by -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("clause", "expected"),
    [
        ("metrics.acc", OrderBy(M, "acc", True)),
        ("metrics.acc DESC", OrderBy(M, "acc", False)),
        ("metrics.acc desc", OrderBy(M, "acc", False)),
        ("metrics.acc Asc", OrderBy(M, "acc", True)),
        ("metric.`my acc` DESC", OrderBy(M, "my acc", False)),
        ('params."a b"', OrderBy(P, "a b", True)),
        ("tags.mlflow.runName", OrderBy(T, "mlflow.runName", True)),
        ("start_time", OrderBy(A, "start_time", True)),
        ("created DESC", OrderBy(A, "start_time", False)),
        ("attributes.run_name", OrderBy(A, "run_name", True)),
        ("attr.status DESC", OrderBy(A, "status", False)),
        ("end_time", OrderBy(A, "end_time", True)),
        ("run_id", OrderBy(A, "run_id", True)),
        ("user_id", OrderBy(A, "user_id", True)),
        ("artifact_uri", OrderBy(A, "artifact_uri", True)),
    ],
)
def test_run_order_by(clause: str, expected: OrderBy) -> None:
    assert parse_order_by(RUNS, [clause]) == (expected,)


@pytest.mark.parametrize("clauses", [None, []])
def test_no_order_by(clauses: list[str] | None) -> None:
    assert parse_order_by(RUNS, clauses) == ()


@pytest.mark.parametrize(
    ("kind", "clauses", "fragment"),
    [
        (RUNS, ["metrics.acc up"], "Invalid ordering key"),
        (RUNS, ["metrics.acc DESC extra"], "Could not be parsed"),
        (RUNS, [""], "Could not be parsed"),
        (RUNS, ["bogus"], "Invalid attribute key 'bogus'"),
        (RUNS, ["`run name`"], "Invalid attribute key 'run name'"),
        (RUNS, ["datasets.name"], "dataset"),
        (RUNS, ["metrics.acc", "metrics.acc DESC"], "duplicate"),
        (RUNS, ["start_time", "created"], "duplicate"),
        (RUNS, ["experiment_id"], "Invalid attribute key"),
        (RUNS, "metrics.acc", "list of clauses"),
        (RUNS, [5], "expected a string"),
        (EXPERIMENTS, ["tags.t"], "Invalid order_by entity: tag"),
        (EXPERIMENTS, ["bogus"], "Invalid attribute key"),
        (MODELS, ["creation_timestamp"], "Invalid order by key 'creation_timestamp'"),
        (MODELS, ["attribute.name"], "Invalid order by key 'attribute.name'"),
        (MODELS, ["last_updated_timestamp", "timestamp DESC"], "duplicate"),
        (MODELS, ["`name`"], "Invalid order by key"),
        (VERSIONS, ["tags.k"], "Invalid order_by entity: tag"),
        (VERSIONS, ["run_id"], "Invalid attribute key 'run_id'"),
        (VERSIONS, ["creation_timestamp", "creation_timestamp DESC"], "duplicate"),
        (LOGGED, ["params.p"], "only `metrics.<name>`"),
        (LOGGED, ["tags.t DESC"], "only `metrics.<name>`"),
        (LOGGED, ["bogus"], "Invalid attribute key 'bogus'"),
    ],
)
def test_order_by_errors(kind: SearchKind, clauses: list[str], fragment: str) -> None:
    with pytest.raises(InvalidParameterValue, match=fragment):
        parse_order_by(kind, clauses)


@pytest.mark.parametrize(
    ("kind", "clause", "expected"),
    [
        (EXPERIMENTS, "name DESC", OrderBy(A, "name", False)),
        (EXPERIMENTS, "attribute.name", OrderBy(A, "name", True)),
        (EXPERIMENTS, "experiment_id", OrderBy(A, "experiment_id", True)),
        (EXPERIMENTS, "creation_time DESC", OrderBy(A, "creation_time", False)),
        (EXPERIMENTS, "last_update_time", OrderBy(A, "last_update_time", True)),
        (MODELS, "name", OrderBy(A, "name", True)),
        (MODELS, "timestamp DESC", OrderBy(A, "last_updated_timestamp", False)),
        (MODELS, "last_updated_timestamp", OrderBy(A, "last_updated_timestamp", True)),
        (VERSIONS, "version_number DESC", OrderBy(A, "version_number", False)),
        (VERSIONS, "attribute.name", OrderBy(A, "name", True)),
        (VERSIONS, '"name" DESC', OrderBy(A, "name", False)),
        (EXPERIMENTS, "`name`", OrderBy(A, "name", True)),
        (VERSIONS, "creation_timestamp", OrderBy(A, "creation_timestamp", True)),
        (VERSIONS, "last_updated_timestamp DESC", OrderBy(A, "last_updated_timestamp", False)),
        (LOGGED, "metrics.acc DESC", OrderBy(M, "acc", False)),
        (LOGGED, "creation_time", OrderBy(A, "creation_timestamp", True)),
        (LOGGED, "name DESC", OrderBy(A, "name", False)),
        (LOGGED, "model_id", OrderBy(A, "model_id", True)),
    ],
)
def test_order_by_per_kind(kind: SearchKind, clause: str, expected: OrderBy) -> None:
    assert parse_order_by(kind, [clause]) == (expected,)


def test_experiments_allow_repeated_order_keys_as_mlflow_does() -> None:
    assert len(parse_order_by(EXPERIMENTS, ["name", "name DESC"])) == 2


# --- hostile values: integers beyond 64 bits, unstorable text ----------------------------------------


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        (RUNS, "attributes.start_time > 9223372036854775808"),
        (RUNS, "attributes.end_time < -9223372036854775809"),
        (EXPERIMENTS, "creation_time = 100000000000000000000"),
        (VERSIONS, "version_number = 9223372036854775808"),
        (VERSIONS, "version_number = '99999999999999999999'"),
    ],
)
def test_integer_literals_beyond_64_bits_are_rejected(kind: SearchKind, text: str) -> None:
    with pytest.raises(InvalidParameterValue, match="64-bit integer range"):
        parse_filter(kind, text)


def test_integer_literals_at_the_64_bit_bounds_and_large_metric_values_parse() -> None:
    assert one(RUNS, "attributes.start_time < 9223372036854775807").value == 2**63 - 1
    assert one(RUNS, "attributes.start_time > -9223372036854775808").value == -(2**63)
    assert one(RUNS, "metrics.m > 9223372036854775808").value == float(2**63)


@pytest.mark.parametrize("bad", ["x\ud800", "\udfff", "a\x00b"])
def test_unstorable_text_in_filters_and_order_by_is_rejected(bad: str) -> None:
    for text in (f"params.k = '{bad}'", f"params.`{bad}` = 'x'", f"tags.t LIKE '%{bad}'"):
        with pytest.raises(InvalidParameterValue, match=r"surrogate|NUL"):
            parse_filter(RUNS, text)
    with pytest.raises(InvalidParameterValue, match=r"surrogate|NUL"):
        parse_order_by(RUNS, [f"params.`{bad}` DESC"])
    with pytest.raises(InvalidParameterValue, match=r"surrogate|NUL"):
        parse_filter(MODELS, f"name = '{bad}'")
