"""search_traces' filter grammar through MLflow's store interface: MLflow's SqlAlchemyStore vs our
plugin's store (RLIKE, IS NULL on name and run_id, and the extensions DIFFERENCES.md lists)."""

from __future__ import annotations

from typing import Any

from tests.differential.conftest import RunCase
from tests.differential.store_sides import Side, code_of, outcome

# (name, tags, metadata) of the traces each case writes; ids are the case's own.
TRACES: tuple[tuple[str | None, dict[str, str], dict[str, str]], ...] = (
    ("Alpha", {"k": "Hello World"}, {"m": "foo.bar", "mlflow.sourceRun": "r1"}),
    ("beta", {"k": "hello"}, {"m": "FOO"}),
    (None, {"k": "a\\b"}, {}),
)
AGREED = (
    "tags.k RLIKE 'Hello'",
    "tags.k RLIKE 'hello'",
    "tags.k rlike '^h'",
    "tags.k RLIKE 'o$'",
    "tags.k RLIKE 'a\\\\b'",
    'tags.k RLIKE "l{2}"',
    "tags.k RLIKE ''",
    "tags.nokey RLIKE '.*'",
    "metadata.m RLIKE 'o\\.b'",
    "metadata.m RLIKE '(?i)foo'",
    "name RLIKE '^[ab]'",
    "trace.name RLIKE 'lp'",
    "run_id RLIKE '1'",
    "status RLIKE '^OK$'",
    "request_id RLIKE '-1$'",
    "name IS NULL",
    "name IS NOT NULL",
    "run_id IS NULL",
    "tags.k RLIKE 'l' AND metadata.m RLIKE 'O'",
)
REFUSED = (
    "timestamp_ms RLIKE '1'",
    "tags.k NOT RLIKE 'a'",
    "tags.k REGEXP 'a'",
    "tags.k RLIKE 5",
    "tags.k IN ('hello')",
    "request_id IS NULL",
)
# Ours on purpose (DIFFERENCES.md, store level): IN on name and run_id; a pattern no engine can
# compile is refused rather than matching nothing.
EXTENDED = ("name IN ('Alpha')", "run_id NOT IN ('r1')")
BAD_PATTERNS = ("tags.k RLIKE '[a'", "name RLIKE 'a{2,1}'")


def trace_filters(side: Side) -> dict[str, Any]:
    from mlflow.entities.trace_info import TraceInfo
    from mlflow.entities.trace_location import TraceLocation
    from mlflow.entities.trace_state import TraceState

    experiment_id = side.tracking.create_experiment(side.name("exp"))
    prefix = side.name("tr")
    for n, (name, tags, metadata) in enumerate(TRACES):
        side.tracking.start_trace(
            TraceInfo(
                trace_id=f"{prefix}-{n}",
                trace_location=TraceLocation.from_experiment_id(experiment_id),
                request_time=1000 + n,
                execution_duration=5,
                state=TraceState.OK,
                tags={**tags, **({"mlflow.traceName": name} if name else {})},
                trace_metadata=metadata,
            )
        )

    def search(flt: str) -> dict[str, Any]:
        return outcome(
            lambda: side.tracking.search_traces(locations=[experiment_id], filter_string=flt)[0],
            lambda infos: sorted(i.trace_id.rsplit("-", 1)[1] for i in infos),
        )

    return {
        "agreed": {flt: search(flt) for flt in AGREED},
        "refused": {flt: code_of(search(flt)) for flt in REFUSED},
        "extended": {flt: search(flt) for flt in EXTENDED},
        "bad patterns": {flt: search(flt) for flt in BAD_PATTERNS},
    }


def test_trace_filters_agree_with_mlflow(mlflow_side: RunCase, plugin_side: RunCase) -> None:
    theirs, ours = mlflow_side(trace_filters), plugin_side(trace_filters)
    assert theirs["agreed"]["tags.k RLIKE 'hello'"] == {"ok": ["1"]}  # case-sensitive
    assert ours["agreed"] == theirs["agreed"]
    assert all(r["code"] == "INVALID_PARAMETER_VALUE" for r in theirs["refused"].values())
    assert ours["refused"] == theirs["refused"]
    # DIFFERENCES.md, store level: MLflow refuses IN on name and run_id; its SQLite store matches
    # nothing with a pattern it cannot compile (its PostgreSQL store fails the query).
    assert {f: code_of(r) for f, r in theirs["extended"].items()} == {
        f: {"error": "MlflowException", "code": "INVALID_PARAMETER_VALUE"} for f in EXTENDED
    }
    assert ours["extended"] == {"name IN ('Alpha')": {"ok": ["0"]}, "run_id NOT IN ('r1')": {"ok": []}}
    assert theirs["bad patterns"] == {f: {"ok": []} for f in BAD_PATTERNS}
    for result in ours["bad patterns"].values():
        assert result["code"] == "INVALID_PARAMETER_VALUE"
        assert result["message"].startswith("Invalid regular expression")
