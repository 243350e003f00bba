"""Error texts through MLflow's store interface, where codes agree and a user or MLflow's own store
tests match on the words: missing tag keys, undecodable page tokens, filter parse errors, unknown
traces. MLflow's SqlAlchemyStore vs our plugin's store."""

from __future__ import annotations

import re
from functools import partial
from typing import Any

from tests.differential.conftest import RunCase
from tests.differential.store_sides import Side, outcome

# A filter MLflow's store refuses -> the pattern its store tests (or its message) match on.
FILTER_ERRORS = {
    ("runs", "metrics.a > "): r"Invalid clause\(s\) in filter string",
    ("runs", "run_id IN ("): r"Invalid clause\(s\) in filter string",
    ("runs", "attribute.status IN 'x'"): r"Invalid clause\(s\) in filter string",
    ("runs", "metrics.a >= 1 OR metrics.b = 2"): r"Invalid clause\(s\) in filter string: 'OR'",
    ("runs", "params.a = 1"): r"Expected a quoted string value for parameter",
    ("runs", "metrics.a = 'x'"): r"Expected numeric value type for metric",
    ("runs", "foo.a = 'x'"): r"Invalid entity type 'foo'",
    ("runs", "tags.a > 'x'"): r"Invalid comparator '>'",
    ("experiments", "name = "): r"Invalid clause\(s\) in filter string",
    ("experiments", "foo = 'x'"): r"Invalid attribute key 'foo' specified",
    ("traces", "tags.a = "): r"Invalid clause\(s\) in filter string",
    ("traces", "status > 'x'"): r"Invalid comparator '>'",
    ("registered models", "name IN ("): r"Invalid clause\(s\) in filter string",
    ("registered models", "name LIKE"): r"Invalid clause\(s\) in filter string",
    ("model versions", "run_id IN ("): r"Invalid clause\(s\) in filter string",
    ("model versions", "run_id IN ()"): r"expected a non-empty list of string values, but got empty list",
    ("model versions", "version_number = 'x'"): r"Invalid value for numeric attribute 'version_number': 'x'$",
    ("model versions", "run_id IN (1,2)"): r"^While parsing a list in the query, expected string value, "
    r"punctuation, or whitespace, but got different type in list: \(1, 2\)$",
    ("runs", "attributes.run_id IN ('a', 2)"): r"but got different type in list: \('a', 2\)$",
    ("registered models", "evilhax = true"): r"^Invalid clause\(s\) in filter string: evilhax, =, true$",
    ("runs", "tags.a = false"): r"^Invalid clause\(s\) in filter string: 'tags.a', '=', 'false'$",
    ("registered models", "evilhax = 'x'"): r"^Invalid attribute key 'evilhax' specified. "
    r"Valid keys are '\{'name'\}'$",
    ("logged models", "Foo"): r"^Invalid filter string: 'Foo'. Expected a list of comparisons separated by",
    ("logged models", "name = true"): r"^Invalid filter string: 'name = true'. Expected a list",
}

AT_MOST = r"^Invalid value for request parameter max_results. It must be at most "
SUPPLIED = r"for parameter 'max_results' supplied\. "
POSITIVE = r"^Invalid value for max_results\. It must be a positive integer, but got "
# A search and a max_results it refuses -> the pattern MLflow's store tests (or its message) match on.
MAX_RESULTS_ERRORS = {
    ("registered models", 1001): AT_MOST + r"1000, but got value 1001$",
    ("registered models", 1e15): AT_MOST + r"1000, but got value 1000000000000000\.0$",
    ("model versions", 200_001): AT_MOST + r"200000, but got value 200001$",
    ("model versions", 1e15): POSITIVE + r"1000000000000000\.0$",
    ("model versions", 0): POSITIVE + r"0$",
    ("runs", 10**15): r"^Invalid value 1000000000000000 " + SUPPLIED + r"It must be at most 50000$",
    ("experiments", 1e15): r"^Invalid value 1000000000000000\.0 " + SUPPLIED + r"It must be at most 50000$",
    ("traces", 0): r"^Invalid value 0 " + SUPPLIED + r"It must be a positive integer$",
}


def _matches(call: Any, pattern: str) -> tuple[Any, bool]:
    seen = outcome(call)
    return seen.get("code"), bool(re.search(pattern, str(seen.get("message"))))


def error_texts(side: Side) -> dict[str, Any]:
    from mlflow.entities import ExperimentTag, Metric, Param, RunTag, ViewType, model_registry

    # MLflow's entities are untyped; as Any, calling them is no untyped call in a typed function.
    RegisteredModelTag: Any = model_registry.RegisteredModelTag
    ModelVersionTag: Any = model_registry.ModelVersionTag
    from mlflow.entities.trace_info import TraceInfo
    from mlflow.entities.trace_location import TraceLocation
    from mlflow.entities.trace_state import TraceState

    t, r = side.tracking, side.registry
    experiment_id = t.create_experiment(side.name("exp"))
    run_id = t.create_run(experiment_id, "u", 0, [], "r").info.run_id
    trace_id = side.name("tr")
    t.start_trace(
        TraceInfo(
            trace_id=trace_id,
            trace_location=TraceLocation.from_experiment_id(experiment_id),
            request_time=1,
            execution_duration=1,
            state=TraceState.OK,
        )
    )
    model = side.name("model")
    r.create_registered_model(model)
    r.create_model_version(model, "source", run_id)
    unknown_trace = side.name("tr-unknown")

    def message(call: Any) -> str | None:
        seen = outcome(call)
        if "ok" in seen:
            return None  # MLflow's registry deletes a missing tag quietly
        text = str(seen["message"]).replace(run_id, "<run>").replace(unknown_trace, "<trace>")
        text = text.replace(f"experiment with id {experiment_id}", "experiment with id <experiment>")
        return f"{seen['code']}: {text}"

    searches = {
        "runs": lambda f: t.search_runs([experiment_id], f, ViewType.ALL),
        "experiments": lambda f: t.search_experiments(filter_string=f),
        "traces": lambda f: t.search_traces(locations=[experiment_id], filter_string=f),
        "registered models": lambda f: r.search_registered_models(filter_string=f),
        "model versions": lambda f: r.search_model_versions(filter_string=f),
        "logged models": lambda f: t.search_logged_models([experiment_id], filter_string=f),
    }
    sized = {
        "runs": lambda n: t.search_runs([experiment_id], None, ViewType.ALL, max_results=n),
        "experiments": lambda n: t.search_experiments(max_results=n),
        "traces": lambda n: t.search_traces(locations=[experiment_id], max_results=n),
        "registered models": lambda n: r.search_registered_models(max_results=n),
        "model versions": lambda n: r.search_model_versions(max_results=n),
    }
    tokens = {
        "runs": lambda: t.search_runs([experiment_id], None, ViewType.ALL, page_token="abc"),
        "experiments": lambda: t.search_experiments(page_token="abc"),
        "traces": lambda: t.search_traces(locations=[experiment_id], page_token="abc"),
        "registered models": lambda: r.search_registered_models(page_token="abc"),
        "model versions": lambda: r.search_model_versions(page_token="abc"),
    }
    filters = {
        f"{kind}: {flt}": _matches(partial(searches[kind], flt), p)
        for (kind, flt), p in FILTER_ERRORS.items()
    }
    sizes = {
        f"{kind}: {n}": _matches(partial(sized[kind], n), p) for (kind, n), p in MAX_RESULTS_ERRORS.items()
    }
    other_experiment = t.create_experiment(side.name("exp"))
    for name in ("a", "b"):
        t.create_logged_model(experiment_id, name=side.name(name))
    token = t.search_logged_models([experiment_id], max_results=1).token
    scope = re.escape(
        "Experiment IDs in the page token do not match the requested experiment IDs. "
        f"Expected: {[other_experiment]}"
    )
    rm_tag, mv_tag = r.set_registered_model_tag, r.set_model_version_tag
    return {
        "key": {
            "registered model tag None": message(lambda: rm_tag(model, RegisteredModelTag(None, "v"))),
            "registered model tag ''": message(lambda: rm_tag(model, RegisteredModelTag("", "v"))),
            "delete registered model tag None": message(lambda: r.delete_registered_model_tag(model, None)),
            "delete registered model tag ''": message(lambda: r.delete_registered_model_tag(model, "")),
            "model version tag None": message(lambda: mv_tag(model, "1", ModelVersionTag(None, "v"))),
            "delete model version tag ''": message(lambda: r.delete_model_version_tag(model, "1", "")),
            "run tag ''": message(lambda: t.set_tag(run_id, RunTag("", "v"))),
            "experiment tag ''": message(lambda: t.set_experiment_tag(experiment_id, ExperimentTag("", "v"))),
            "trace tag ''": message(lambda: t.set_trace_tag(trace_id, "", "v")),
            "param ''": message(lambda: t.log_param(run_id, Param("", "v"))),
            "metric ''": message(lambda: t.log_metric(run_id, Metric("", 1.0, 0, 0))),
        },
        "max_results": sizes,
        "logged-model token in other experiments": _matches(
            lambda: t.search_logged_models([other_experiment], max_results=1, page_token=token), "^" + scope
        ),
        "missing tag": {
            "run": message(lambda: t.delete_tag(run_id, "nokey")),
            "experiment": message(lambda: t.delete_experiment_tag(experiment_id, "nokey")),
            "trace": message(lambda: t.delete_trace_tag(trace_id, "nokey")),
            "registered model": message(lambda: r.delete_registered_model_tag(model, "nokey")),
            "model version": message(lambda: r.delete_model_version_tag(model, "1", "nokey")),
        },
        "page token": {kind: message(call) for kind, call in tokens.items()},
        "filters": filters,
        "unknown trace": {
            "get_trace_info": message(lambda: t.get_trace_info(unknown_trace)),
            "get_trace": outcome(lambda: t.get_trace(unknown_trace))["code"],
        },
    }


def test_error_texts_are_mlflows(mlflow_side: RunCase, plugin_side: RunCase) -> None:
    theirs, ours = mlflow_side(error_texts), plugin_side(error_texts)
    undecodable = "INVALID_PARAMETER_VALUE: Invalid page token, could not base64-decode"
    assert theirs["page token"]["runs"] == undecodable
    for situations in ("filters", "max_results"):  # the patterns are MLflow's answers
        assert theirs[situations] == dict.fromkeys(theirs[situations], ("INVALID_PARAMETER_VALUE", True))
    assert theirs["logged-model token in other experiments"] == ("INVALID_PARAMETER_VALUE", True)
    assert theirs["key"]["registered model tag None"] == (
        "INVALID_PARAMETER_VALUE: Missing value for required parameter 'key'."
    )
    assert ours == theirs


RETENTION = "mlflow.trace.archivalRetention"
ARCHIVE_NOW = "mlflow.trace.archiveNow"
ARCHIVAL_TAGS = (
    (RETENTION, '{"type": "duration", "value": "30d"}'),
    (RETENTION, '{"type": "duration", "value": " 12h "}'),
    (RETENTION, "30d"),
    (RETENTION, '{"value": "30d"}'),
    (RETENTION, '{"type": "duration", "value": "0d"}'),
    (RETENTION, '{"type": "duration", "value": 5}'),
    (RETENTION, '{"type": "duration", "value": "' + "1" * 40 + 'd"}'),
    (ARCHIVE_NOW, "{}"),
    (ARCHIVE_NOW, '{"older_than": "1h"}'),
    (ARCHIVE_NOW, '{"older_than": "soon"}'),
    (ARCHIVE_NOW, "null"),
)


def trace_archival(side: Side) -> dict[str, Any]:
    from mlflow.entities import ExperimentTag

    t = side.tracking
    experiment_id = t.create_experiment(side.name("exp"))
    seen: dict[str, Any] = {
        "supports_trace_archival": t.supports_trace_archival,
        "created with a bad tag": outcome(
            lambda: t.create_experiment(side.name("bad"), tags=[ExperimentTag(RETENTION, "30d")])
        ),
    }
    for key, value in ARCHIVAL_TAGS:
        seen[f"{key}={value}"] = outcome(
            partial(t.set_experiment_tag, experiment_id, ExperimentTag(key, value))
        )
    seen["kept"] = t.get_experiment(experiment_id).tags
    return seen


def test_trace_archival_tags_are_validated_as_mlflow(mlflow_side: RunCase, plugin_side: RunCase) -> None:
    """Archival itself is MLflow's server's (its SQL store archives, ours do not: supports_trace_archival
    is False, archive_traces NOT_IMPLEMENTED); the experiment tags that steer it are validated alike."""
    theirs, ours = mlflow_side(trace_archival), plugin_side(trace_archival)
    assert theirs["supports_trace_archival"] is True
    assert ours["supports_trace_archival"] is False
    assert theirs["created with a bad tag"]["code"] == "INVALID_PARAMETER_VALUE"
    assert {**ours, "supports_trace_archival": True} == theirs
