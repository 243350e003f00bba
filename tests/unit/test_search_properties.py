"""Properties of the search language: total parsers, tamper-proof tokens, lossless paging."""

from __future__ import annotations

import math
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genesis_flow.core.entities import (
    Dataset,
    DatasetInput,
    DatasetRef,
    Experiment,
    ExperimentTag,
    InputTag,
    LoggedModel,
    Metric,
    ModelMetric,
    Param,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunStatus,
    RunTag,
)
from genesis_flow.core.errors import InvalidParameterValue, NotSupported
from genesis_flow.core.registry import ModelVersion, ModelVersionTag, RegisteredModel, RegisteredModelTag
from genesis_flow.core.search import (
    Filter,
    SearchKind,
    decode_page_token,
    encode_page_token,
    matches,
    paginate,
    parse_filter,
    parse_order_by,
    query_fingerprint,
    sort,
)
from genesis_flow.core.tracing import TraceInfo

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SOME = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

kinds = st.sampled_from(list(SearchKind))

# --- a grammar-ish generator: mostly plausible pieces, sometimes junk ---------------------------------

prefixes = st.sampled_from(
    [
        "",
        "metrics.",
        "metric.",
        "params.",
        "param.",
        "tags.",
        "tag.",
        "attributes.",
        "attribute.",
        "attr.",
        "run.",
        "datasets.",
        "dataset.",
        "`tags`.",
        "bogus.",
        "Metrics.",
        '"tags".',
        "metadata.",
        "request_metadata.",
        "trace.",
        "span.",
    ]
)
bare_names = st.sampled_from(
    [
        "acc",
        "lr",
        "name",
        "run_name",
        "status",
        "run_id",
        "start_time",
        "end_time",
        "created",
        "user_id",
        "artifact_uri",
        "digest",
        "context",
        "experiment_id",
        "creation_time",
        "last_update_time",
        "version_number",
        "source_path",
        "model_id",
        "model_type",
        "creation_timestamp",
        "last_updated_timestamp",
        "source_run_id",
        "mlflow.runName",
        "a.b",
        "x",
    ]
)
key_text = st.one_of(
    bare_names,
    bare_names.map(lambda n: f"`{n}`"),
    bare_names.map(lambda n: f'"{n}"'),
    st.text(alphabet=string.ascii_letters + " .-_`'\"", max_size=8).map(lambda n: f"`{n}`"),
)
keys = st.builds(lambda p, k: p + k, prefixes, key_text)
operators = st.sampled_from(
    [
        "=",
        "!=",
        "<",
        "<=",
        ">",
        ">=",
        "==",
        "<>",
        "LIKE",
        "like",
        "ILIKE",
        "IN",
        "NOT IN",
        "not in",
        "IS NULL",
        "IS NOT NULL",
        "is not null",
        "NOT LIKE",
        "IS",
        "NOT",
        "",
    ]
)
quoted = st.text(max_size=6).map(lambda s: f"'{s}'") | st.text(max_size=6).map(lambda s: f'"{s}"')
numbers = (
    st.integers(-(10**20), 10**20).map(str)
    | st.floats(allow_nan=False, allow_infinity=False).map(repr)
    | st.sampled_from(["1e309", "-1e-400", ".5", "5.", "1e", "0x1", "+1", "nan", "inf", "9" * 400])
)
lists = st.lists(quoted | numbers, max_size=3).map(lambda xs: "(" + ", ".join(xs) + ")")
values = st.one_of(
    quoted, numbers, lists, st.sampled_from(["", "abc", "NULL", "(", ")", "'", "''''", "(('a'))"])
)
comparisons = st.builds(lambda k, o, v: f"{k} {o} {v}".strip(), keys, operators, values)
joiners = st.sampled_from([" AND ", " and ", " OR ", " ", " AND AND ", ", ", " ) ", " ( "])


@st.composite
def filters(draw: st.DrawFn) -> str:
    parts = draw(st.lists(comparisons, min_size=1, max_size=4))
    text = parts[0]
    for part in parts[1:]:
        text += draw(joiners) + part
    return text


def sample_entity(kind: SearchKind) -> object:
    if kind is SearchKind.RUNS:
        return Run(
            info=RunInfo("r1", "1", "name", "u", RunStatus.FINISHED, 5, None, "file:///x"),
            data=RunData(
                metrics=(Metric("acc", 0.5, 0, 0), Metric("nan", math.nan, 0, 0)),
                params=(Param("lr", "0.1"),),
                tags=(RunTag("x", "y"),),
            ),
            inputs=RunInputs(
                dataset_inputs=(
                    DatasetInput(Dataset("d", "g", "local", "s"), (InputTag("mlflow.data.context", "c"),)),
                )
            ),
        )
    if kind is SearchKind.EXPERIMENTS:
        return Experiment("1", "e", "file:///e", creation_time=None, tags=(ExperimentTag("x", "y"),))
    if kind is SearchKind.REGISTERED_MODELS:
        return RegisteredModel("m", 1, 2, tags=(RegisteredModelTag("x", "y"),))
    if kind is SearchKind.MODEL_VERSIONS:
        return ModelVersion("m", 1, 1, 2, tags=(ModelVersionTag("x", "y"),))
    if kind is SearchKind.TRACES:
        return TraceInfo(
            "tr-1", "1", 5, "OK", execution_duration=3, tags={"x": "y"}, metadata={"mlflow.sourceRun": "r"}
        )
    return LoggedModel(
        "m1", "1", "m", "file:///m", 1, 2, metrics=(ModelMetric("acc", 0.5, 0, 0, dataset_name="d"),)
    )


def parse_or_reject(kind: SearchKind, text: str) -> Filter | None:
    try:
        result = parse_filter(kind, text)
    except InvalidParameterValue:
        return None
    except NotSupported:
        # MLflow's span/assessment trace filters: valid MLflow, refused clearly by our stores.
        assert kind is SearchKind.TRACES
        return None
    assert isinstance(result, Filter)
    return result


@FAST
@given(kinds, st.text(max_size=60))
def test_any_text_parses_or_is_rejected_cleanly(kind: SearchKind, text: str) -> None:
    parse_or_reject(kind, text)


@FAST
@given(kinds, filters())
def test_grammar_like_text_parses_or_is_rejected_cleanly_and_evaluates(kind: SearchKind, text: str) -> None:
    parsed = parse_or_reject(kind, text)
    if parsed is not None:
        # Whatever parses must evaluate without error on an entity of that kind.
        result = matches(kind, sample_entity(kind), parsed, datasets=(DatasetRef("d"),))
        assert isinstance(result, bool)


@FAST
@given(
    kinds,
    st.lists(
        st.text(max_size=25)
        | st.builds(lambda k, d: f"{k} {d}", keys, st.sampled_from(["ASC", "DESC", "desc", "up", ""])),
        max_size=3,
    ),
)
def test_any_order_by_parses_or_is_rejected_cleanly(kind: SearchKind, clauses: list[str]) -> None:
    try:
        parsed = parse_order_by(kind, clauses)
    except InvalidParameterValue:
        return
    except NotSupported:
        assert kind is SearchKind.TRACES
        return
    entity = sample_entity(kind)
    assert sort(kind, [entity], parsed) == [entity]


@FAST
@given(
    st.sampled_from(["=", "!=", "<", "<=", ">", ">="]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(alphabet=string.ascii_letters + string.digits + "_", min_size=1, max_size=10),
)
def test_valid_metric_comparisons_round_trip(op: str, number: float, key: str) -> None:
    (c,) = parse_filter(SearchKind.RUNS, f"metrics.`{key}` {op} {number!r}").comparisons
    assert (c.key, c.comparator.value, c.value) == (key, op, number)


@FAST
@given(st.text(max_size=20).filter(lambda s: "'" not in s and "\\" not in s and "\x00" not in s))
def test_single_quoted_values_round_trip(value: str) -> None:
    # NUL is refused in any filter (no backend stores it): see test_search_parser.
    (c,) = parse_filter(SearchKind.RUNS, f"tags.t = '{value}'").comparisons
    assert c.value == value


# --- tokens ---------------------------------------------------------------------------------------


@FAST
@given(st.text(max_size=80), st.text(max_size=10))
def test_any_token_decodes_or_is_rejected_cleanly(token: str, fingerprint: str) -> None:
    try:
        offset = decode_page_token(token, fingerprint)
    except InvalidParameterValue:
        return
    assert offset == 0 or isinstance(offset, int)


@FAST
@given(st.integers(min_value=0, max_value=10**12), st.text(max_size=20), st.data())
def test_any_single_edit_of_a_token_is_rejected(offset: int, fingerprint: str, data: st.DataObject) -> None:
    token = encode_page_token(offset, fingerprint)
    assert decode_page_token(token, fingerprint) == offset
    i = data.draw(st.integers(0, len(token) - 1))
    replacement = data.draw(st.characters().filter(lambda ch: ch != token[i]))
    tampered = token[:i] + replacement + token[i + 1 :]
    try:
        decode_page_token(tampered, fingerprint)
    except InvalidParameterValue:
        return
    raise AssertionError(f"tampered token accepted: {tampered!r}")


@FAST
@given(st.integers(min_value=0, max_value=10**6), st.text(max_size=10), st.text(max_size=10))
def test_tokens_are_bound_to_their_query(offset: int, mine: str, other: str) -> None:
    token = encode_page_token(offset, query_fingerprint(mine))
    if mine == other:
        assert decode_page_token(token, query_fingerprint(other)) == offset
    else:
        try:
            decode_page_token(token, query_fingerprint(other))
        except InvalidParameterValue:
            return
        raise AssertionError("a token crossed queries")


@FAST
@given(st.lists(st.integers(), max_size=40), st.integers(min_value=1, max_value=12))
def test_pages_concatenate_to_the_whole(items: list[int], size: int) -> None:
    fingerprint = query_fingerprint("q")
    seen: list[int] = []
    token: str | None = None
    for _ in range(len(items) + 2):
        page = paginate(items, size, token, fingerprint)
        assert len(page.items) <= size
        seen.extend(page.items)
        token = page.next_page_token
        if token is None:
            break
    assert token is None
    assert seen == items


# --- sort: a total order -----------------------------------------------------------------------------

metric_values = st.one_of(st.none(), st.floats(allow_nan=True), st.sampled_from([0.0, 1.0, -1.0]))


@st.composite
def runs(draw: st.DrawFn) -> list[Run]:
    count = draw(st.integers(0, 8))
    result = []
    for i in range(count):
        acc = draw(metric_values)
        lr = draw(st.none() | st.sampled_from(["0.1", "0.01", "1", "a"]))
        result.append(
            Run(
                info=RunInfo(
                    f"r{i}",
                    "1",
                    draw(st.sampled_from(["a", "b", ""])),
                    "u",
                    RunStatus.RUNNING,
                    draw(st.none() | st.integers(0, 3)),
                    draw(st.none() | st.integers(0, 3)),
                    "file:///x",
                ),
                data=RunData(
                    metrics=() if acc is None else (Metric("acc", acc, 0, 0),),
                    params=() if lr is None else (Param("lr", lr),),
                ),
            )
        )
    return result


order_clauses = st.lists(
    st.sampled_from(
        [
            "metrics.acc",
            "metrics.acc DESC",
            "params.lr",
            "params.lr DESC",
            "start_time",
            "end_time DESC",
            "run_name",
            "run_id DESC",
        ]
    ),
    max_size=3,
    unique_by=lambda c: c.split()[0],
)


@SOME
@given(runs(), order_clauses, st.randoms(use_true_random=False))
def test_run_sort_is_a_total_order_independent_of_input_order(
    items: list[Run], clauses: list[str], rnd: object
) -> None:
    order = parse_order_by(SearchKind.RUNS, clauses)
    first = sort(SearchKind.RUNS, items, order)
    shuffled = list(items)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert [r.run_id for r in sort(SearchKind.RUNS, shuffled, order)] == [r.run_id for r in first]
    assert sorted(r.run_id for r in first) == sorted(r.run_id for r in items)
