"""MLflow's input rules and limits, checked once, in the domain.

Limits and name rules are those of mlflow 3.17.2 (``mlflow/utils/validation.py``), re-checked
against mlflow itself. Messages keep MLflow's gist. Where MLflow's *client* truncates an
over-long param or tag value (``MLFLOW_TRUNCATE_LONG_VALUES``, on by default), the ports here
reject it: truncating is a client convenience and lives in the entry points
(:func:`truncate_value` is provided for them).
"""

from __future__ import annotations

import json
import math
import numbers
import posixpath
import re
from collections.abc import Iterable, Sequence
from typing import Any

from genesis_flow.core.errors import InvalidParameterValue

MAX_ENTITY_KEY_LENGTH = 250
MAX_PARAM_VAL_LENGTH = 6000
MAX_TAG_VAL_LENGTH = 8000
MAX_EXPERIMENT_NAME_LENGTH = 500
MAX_EXPERIMENT_TAG_KEY_LENGTH = 250
MAX_EXPERIMENT_TAG_VAL_LENGTH = 20000
MAX_MODEL_REGISTRY_TAG_KEY_LENGTH = 250
MAX_MODEL_REGISTRY_TAG_VALUE_LENGTH = 100_000
MAX_REGISTERED_MODEL_ALIAS_LENGTH = 255
MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_METRICS_PER_BATCH = 1000
MAX_ENTITIES_PER_BATCH = 1000
MAX_DATASET_NAME_SIZE = 500
MAX_DATASET_DIGEST_SIZE = 36
MAX_DATASET_SOURCE_SIZE = 65535
MAX_DATASET_SCHEMA_SIZE = 1048575
MAX_DATASET_PROFILE_SIZE = 16777215
MAX_INPUT_TAG_KEY_SIZE = 255
MAX_INPUT_TAG_VALUE_SIZE = 500

_KEY_NAME = re.compile(r"^[/\w.\- :]*$")
_ALIAS_NAME = re.compile(r"^[\w\-]*$")
_VERSION_ALIAS = re.compile(r"^[vV]\d+$")
_BAD_CHARACTERS = (
    "Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ),"
    " colon(:) and slashes (/)."
)
_LONG_MAX = 2**63 - 1
_LONG_MIN = -(2**63)


def _invalid_value(path: str, value: Any, message: str | None = None) -> str:
    try:
        shown = json.dumps(value, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        shown = repr(value)
    suffix = f": {message}" if message else "."
    return f"Invalid value {shown} for parameter '{path}' supplied{suffix}"


def exceeds_maximum_length(path: str, limit: int) -> str:
    return f"'{path}' exceeds the maximum length of {limit} characters"


def path_not_unique(name: str) -> bool:
    """True when ``name`` would resolve to another name as a file path (``a/../b``, ``/x``)."""
    norm = posixpath.normpath(name)
    return norm != name or norm == "." or norm.startswith(("..", "/"))


def _bad_path_message(name: str) -> str:
    return (
        "Names may be treated as files in certain cases, and must not resolve to other names"
        f" when treated as such. This name would resolve to {posixpath.normpath(name)!r}"
    )


def _missing_key_message(path: str, what: str) -> str:
    """MLflow's words for a key that is None, which differ by kind: its store tests match on them."""
    if what == "tag":
        return f"Missing value for required parameter '{path}'."
    if what == "metric":
        return _invalid_value(path, None, "Metric name cannot be None. A key name must be provided.")
    return _invalid_value(path, "", "A key name must be provided.")


def validate_key(name: object, path: str = "key", what: str = "key") -> str:
    """A metric, param or tag key: MLflow's character set, not path-like, at most 250 chars.

    ``what`` ("tag", "param", "metric") picks MLflow's message for a None key; an empty key is
    refused as MLflow refuses it, as a name that would resolve to '.' as a path."""
    if name is None:
        raise InvalidParameterValue(_missing_key_message(path, what))
    if not isinstance(name, str):
        raise InvalidParameterValue(_invalid_value(path, str(name), "Expects a string."))
    if not _KEY_NAME.match(name):
        raise InvalidParameterValue(_invalid_value(path, name, _BAD_CHARACTERS))
    if path_not_unique(name):
        raise InvalidParameterValue(_invalid_value(path, name, _bad_path_message(name)))
    validate_length(path, MAX_ENTITY_KEY_LENGTH, name)
    return name


def validate_length(path: str, limit: int, value: str | None) -> None:
    if value is not None and len(value) > limit:
        raise InvalidParameterValue(exceeds_maximum_length(path, limit))


def validate_string(path: str, value: object) -> str:
    if not isinstance(value, str):
        raise InvalidParameterValue(
            _invalid_value(path, None if value is None else str(value), "Expects a string.")
        )
    validate_text(path, value)
    return value


def text_problem(value: str) -> str | None:
    """Why no backend can store ``value`` as it is, or None: a lone surrogate (half of a UTF-16
    pair, which no UTF-8 driver can encode) or a NUL character (PostgreSQL text cannot hold one;
    SQLite and MongoDB can, so only refusing it everywhere keeps the backends alike)."""
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "not valid Unicode text (a lone surrogate)"
    if "\x00" in value:
        return "NUL characters are not allowed"
    return None


def validate_text(path: str, value: str | None) -> str | None:
    """``value`` (a string or None) when every backend can store it (:func:`text_problem`).

    Raises:
        InvalidParameterValue: the text has a lone surrogate or a NUL, naming ``path``.
    """
    if value is not None and text_problem(value) is not None:
        raise unstorable_text_error(value, path)
    return value


def unstorable_text_error(value: str, path: str = "value") -> InvalidParameterValue:
    """The error for text :func:`text_problem` refuses; adapters also give it for a driver's
    encoding error, where the parameter is no longer known."""
    shown = value if len(value) <= 200 else value[:200] + "..."
    return InvalidParameterValue(_invalid_value(path, shown, text_problem(value)))


def validate_texts(**values: str | None) -> None:
    """:func:`validate_text` for free-text fields a store keeps (descriptions, sources, links),
    each named by its keyword."""
    for path, value in values.items():
        if isinstance(value, str):
            validate_text(path, value)


def validate_lookup(path: str, value: object) -> None:
    """An id, key or name a caller finds something by (a run or experiment id, a tag key to
    delete, a metric key to read...). Text no backend can store (:func:`text_problem`) names
    nothing stored; refusing it here gives one answer everywhere, where otherwise some backends
    say "not found" and the drivers of others cannot even send it.

    Raises:
        InvalidParameterValue: the text has a lone surrogate or a NUL, naming ``path``.
    """
    if isinstance(value, str):
        validate_text(path, value)


def experiment_id(value: object, path: str = "experiment_id") -> str:
    """The experiment id ``value`` names, as stores key it: the decimal text of an integer.

    Every store assigns integer ids ("0" is Default), as MLflow's stores do, and migration
    imports MLflow's integer ids, so text that is no integer names no experiment; MLflow's SQL
    store refuses it, and so does every store here. What ``int()`` reads (" 7", "007") is the
    experiment it reads as ("7"), as in MLflow's SQL store.

    Raises:
        InvalidParameterValue: not an integer (MLflow's message), or unstorable text.
    """
    validate_lookup(path, value)
    try:
        number = int(value)  # type: ignore[call-overload]  # whatever int() reads
    except (TypeError, ValueError):
        raise InvalidParameterValue(
            f"Invalid experiment ID '{value}'. Experiment ID must be a valid integer."
        ) from None
    return str(number)


def experiment_ids(values: Iterable[object], path: str = "experiment_ids") -> list[str]:
    """:func:`experiment_id` of each of ``values`` (e.g. a search's scope), in order."""
    return [experiment_id(value, path) for value in values]


def validate_lookups(path: str, values: Iterable[object]) -> None:
    """:func:`validate_lookup` for each of ``values`` (e.g. a search's experiment ids)."""
    for value in values:
        validate_lookup(path, value)


def truncate_value(value: str, limit: int) -> str:
    """Client-side truncation as MLflow's client does it (entry points only, never ports)."""
    return value if len(value) <= limit else value[:limit]


def validate_param(key: object, value: object, path: str = "") -> None:
    validate_key(key, _join(path, "key"), "param")
    validate_string(_join(path, "value"), value)
    validate_length("Param value", MAX_PARAM_VAL_LENGTH, value)  # type: ignore[arg-type]


def validate_run_tag(key: object, value: object, path: str = "") -> None:
    validate_key(key, _join(path, "key"), "tag")
    validate_string(_join(path, "value"), value)
    validate_length(_join(path, "value") or "value", MAX_TAG_VAL_LENGTH, value)  # type: ignore[arg-type]


def validate_experiment_tag(key: object, value: object) -> None:
    validate_key(key, "key", "tag")
    validate_string("value", value)
    validate_length("value", MAX_EXPERIMENT_TAG_VAL_LENGTH, value)  # type: ignore[arg-type]
    if key == TRACE_ARCHIVAL_RETENTION_TAG:
        _trace_archival_duration(value, "value", required=True)  # type: ignore[arg-type]
    elif key == TRACE_ARCHIVE_NOW_TAG:
        _trace_archival_duration(value, "older_than", required=False)  # type: ignore[arg-type]


# MLflow's experiment tags that steer its server's trace archival. No Genesis store archives
# traces, but MLflow's SQL store refuses malformed ones, so an experiment never holds a setting
# that a store which does archive (or MLflow, after a migration) would reject.
TRACE_ARCHIVAL_RETENTION_TAG = "mlflow.trace.archivalRetention"
TRACE_ARCHIVE_NOW_TAG = "mlflow.trace.archiveNow"
_TRACE_ARCHIVAL_DURATION = re.compile(r"[1-9][0-9]*[mhd]")
_MAX_TRACE_ARCHIVAL_DURATION_LENGTH = 32


def _trace_archival_duration(value: str, field: str, *, required: bool) -> None:
    """MLflow's rule for the JSON objects in those tags: ``{"type": "duration", "value": "30d"}``
    for the retention; ``{}`` or ``{"older_than": "12h"}`` for archive-now."""
    try:
        payload = json.loads(value)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        raise InvalidParameterValue("Trace archival config must be encoded as a JSON object.")
    if required and payload.get("type") != "duration":
        raise InvalidParameterValue("Trace archival config must use type 'duration'.")
    duration = payload.get(field)
    if duration is None and not required:
        return
    text = duration.strip() if isinstance(duration, str) else None
    if text is not None and len(text) > _MAX_TRACE_ARCHIVAL_DURATION_LENGTH:
        raise InvalidParameterValue(
            f"Trace archival duration must be at most {_MAX_TRACE_ARCHIVAL_DURATION_LENGTH} characters."
        )
    if text is None or _TRACE_ARCHIVAL_DURATION.fullmatch(text) is None:
        raise InvalidParameterValue(
            "Trace archival retention must be in the form `<int><unit>`, "
            "where unit is one of 'm', 'h', or 'd'."
        )


def model_version_number(name: object, version: object) -> int:
    """The number of version ``version`` of model ``name``, both validated (MLflow accepts a
    numeric string)."""
    validate_model_name(name)
    return validate_version(version)


def registry_tag_values(tags: Iterable[Any]) -> dict[str, str]:
    """Registered-model or model-version tags (objects with ``key`` and ``value``) validated, as
    a dict; a key given twice keeps its last value, as in MLflow."""
    values: dict[str, str] = {}
    for tag in tags:
        validate_registry_tag(tag.key, tag.value)
        values[tag.key] = tag.value
    return values


def new_registered_model(name: object, tags: Iterable[Any], description: str | None) -> dict[str, str]:
    """Everything ``create_registered_model`` checks before touching a store; returns the tag
    values (:func:`registry_tag_values`).

    Raises:
        InvalidParameterValue: a bad name, tag or description text.
    """
    validate_texts(description=description)
    validate_model_name(name)
    return registry_tag_values(tags)


def new_model_version(
    name: object,
    source: str | None,
    run_id: str | None,
    tags: Iterable[Any],
    run_link: str | None,
    description: str | None,
    user_id: str | None,
    model_id: str | None,
) -> dict[str, str]:
    """Everything ``create_model_version`` checks before touching a store (arguments in the
    port's order); returns the tag values.

    Raises:
        InvalidParameterValue: a bad name or tag, or text no backend can store in a field.
    """
    validate_texts(
        source=source,
        run_id=run_id,
        run_link=run_link,
        description=description,
        user_id=user_id,
        model_id=model_id,
    )
    validate_model_name(name)
    return registry_tag_values(tags)


def imported_registered_model(model: Any) -> dict[str, str]:
    """Everything ``import_registered_model`` checks of a RegisteredModel before touching a store
    (what :func:`new_registered_model` checks); returns the tag values."""
    return new_registered_model(model.name, model.tags, model.description)


def imported_model_version(version: Any) -> tuple[int, dict[str, str]]:
    """Everything ``import_model_version`` checks of a ModelVersion before touching a store: what
    :func:`new_model_version` checks, a number from 1, the aliases and the status message.
    Returns (version number, tag values).

    Raises:
        InvalidParameterValue: any of those is invalid.
    """
    number = model_version_number(version.name, version.version)
    if number < 1:
        raise InvalidParameterValue(f"Model version numbers start at 1, got {number}.")
    tag_values = new_model_version(
        version.name,
        version.source,
        version.run_id,
        version.tags,
        version.run_link,
        version.description,
        version.user_id,
        version.model_id,
    )
    validate_texts(status_message=version.status_message)
    for alias in version.aliases:
        validate_alias(alias)
    return number, tag_values


def validate_registry_tag(key: object, value: object) -> None:
    validate_key(key, "key", "tag")
    if value is None:
        raise InvalidParameterValue("Tag value cannot be None")
    validate_string("value", value)
    validate_length("value", MAX_MODEL_REGISTRY_TAG_VALUE_LENGTH, value)  # type: ignore[arg-type]


def _is_number(value: object) -> bool:
    # bool is an int subclass, but MLflow refuses True/False as metric values. An int too large
    # for a double (10**400) is no metric value either: no backend can store it.
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    try:
        float(value)
    except OverflowError:
        return False
    return True


def as_double(value: object) -> object:
    """A metric value as a float when it is a number MLflow's store accepts (an int, a numpy
    number); anything else (a bool, text, an int beyond a double) unchanged, for
    :func:`validate_metric` to refuse. Idempotent, so entities can use it as a converter."""
    if type(value) is float or isinstance(value, bool) or not isinstance(value, numbers.Real):
        return value
    try:
        return float(value)
    except OverflowError:
        return value


def as_long(value: object) -> object:
    """A timestamp or step as an int when it is an integral number MLflow accepts (an int, a
    bool, a numpy integer, an integral float such as ``1e15``); anything else (a fraction, NaN,
    text) unchanged, for validation to refuse. Every backend stores the same int this way.
    MLflow's SQL store keeps a fractional step as a float on SQLite and rounds it on PostgreSQL;
    its REST API refuses it: here it is refused (int64, as MLflow's protocol declares it)."""
    if type(value) is int:
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        try:
            number = float(value)
        except OverflowError:
            return value
        if math.isfinite(number) and number.is_integer():
            return int(number)
    return value


def is_long(value: object) -> bool:
    """Whether ``value`` is an int every backend stores: 64-bit, as MLflow's int64 fields."""
    return type(value) is int and _LONG_MIN <= value <= _LONG_MAX


def validate_long(path: str, value: object, *, minimum: int = _LONG_MIN) -> int | None:
    """``value`` (None passes) as a 64-bit integer (:func:`as_long`) of at least ``minimum``: a
    time, a step, an offset that every backend can store.

    Raises:
        InvalidParameterValue: not an integral number, or outside [minimum, 2**63 - 1].
    """
    if value is None:
        return None
    number = as_long(value)
    if not isinstance(number, int) or not is_long(number) or number < minimum:
        raise InvalidParameterValue(
            _invalid_value(path, str(value), f"must be an integer in [{minimum}, {_LONG_MAX}] (64-bit).")
        )
    return number


# Metric keys that passed validate_metric in this process. A program logs a handful of keys many
# times (a training loop, a batch), and a key's validity never changes: a point whose key is here
# and whose numbers are plainly valid skips the full check (about 10x faster), anything else gets
# it, so the errors are exactly the full check's. Bounded, so inventing keys cannot grow it forever.
_PASSED_METRIC_KEYS: set[str] = set()
_MAX_PASSED_METRIC_KEYS = 10_000


def _plainly_valid_metric(key: object, value: object, timestamp: object, step: object) -> bool:
    return (
        type(key) is str
        and key in _PASSED_METRIC_KEYS
        and type(value) is float
        and type(timestamp) is int
        and type(step) is int
        and 0 <= timestamp <= _LONG_MAX
        and _LONG_MIN <= step <= _LONG_MAX
    )


def validate_metric(key: object, value: object, timestamp: object, step: object, path: str = "") -> None:
    """NaN and +/-inf are valid values; the timestamp must be a non-negative 64-bit integer."""
    if _plainly_valid_metric(key, value, timestamp, step):
        return
    checked_key = validate_key(key, _join(path, "name"), "metric")
    if value is None:
        raise InvalidParameterValue(f"Missing value for required parameter '{_join(path, 'value')}'.")
    if not _is_number(value):
        raise InvalidParameterValue(
            _invalid_value(
                _join(path, "value"),
                str(value),
                f"(timestamp={timestamp}). Please specify value as a valid double (64-bit floating point)",
            )
        )
    if not _is_integral(timestamp) or timestamp < 0:  # type: ignore[operator]
        raise InvalidParameterValue(
            _invalid_value(
                _join(path, "timestamp"),
                str(timestamp),
                f"metric '{key}' (value={value}). Timestamp must be a nonnegative long (64-bit integer)",
            )
        )
    if not _is_integral(step):
        raise InvalidParameterValue(
            _invalid_value(
                _join(path, "step"),
                str(step),
                f"metric '{key}' (value={value}). Step must be a valid long (64-bit integer).",
            )
        )
    if len(_PASSED_METRIC_KEYS) < _MAX_PASSED_METRIC_KEYS:
        _PASSED_METRIC_KEYS.add(checked_key)


def validate_metrics(metrics: Sequence[tuple[object, object, object, object]], indexed: bool = True) -> None:
    """:func:`validate_metric` for each (key, value, timestamp, step) of a batch, with the path
    ``metrics[i]`` when ``indexed``."""
    for i, (key, value, timestamp, step) in enumerate(metrics):
        if not _plainly_valid_metric(key, value, timestamp, step):  # the common case skips the path text
            validate_metric(key, value, timestamp, step, f"metrics[{i}]" if indexed else "")


def _is_integral(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value) or not value.is_integer()):
        return False
    return _LONG_MIN <= value <= _LONG_MAX


def validate_batch_limits(n_metrics: int, n_params: int, n_tags: int) -> None:
    _batch_limit("metrics", MAX_METRICS_PER_BATCH, n_metrics)
    _batch_limit("params", MAX_PARAMS_TAGS_PER_BATCH, n_params)
    _batch_limit("tags", MAX_PARAMS_TAGS_PER_BATCH, n_tags)
    _batch_limit("metrics, params, and tags", MAX_ENTITIES_PER_BATCH, n_metrics + n_params + n_tags)


def _batch_limit(entity_name: str, limit: int, length: int) -> None:
    if length > limit:
        raise InvalidParameterValue(
            f"A batch logging request can contain at most {limit} {entity_name}. Got {length}"
            f" {entity_name}. Please split up {entity_name} across multiple requests and try again."
        )


def validate_unique_param_keys(keys: Sequence[str]) -> None:
    seen: set[str] = set()
    dupes = [k for k in keys if k in seen or seen.add(k)]  # type: ignore[func-returns-value]
    if dupes:
        raise InvalidParameterValue(
            f"Duplicate parameter keys have been submitted: {dupes}. Please ensure the request"
            " contains only one param value per param key."
        )


def validate_experiment_name(name: object) -> str:
    if name is None or name == "":
        raise InvalidParameterValue(f"Invalid experiment name: '{name}'")
    if not isinstance(name, str):
        raise InvalidParameterValue(f"Invalid experiment name: {name}. Expects a string.")
    validate_length("name", MAX_EXPERIMENT_NAME_LENGTH, name)
    validate_text("name", name)
    return name


def validate_artifact_location(location: str | None) -> None:
    if location is not None and location.startswith("runs:"):
        raise InvalidParameterValue(f"Artifact location cannot be a runs:/ URI. Given: '{location}'")


def validate_model_name(name: object, path: str = "name") -> str:
    """Registered model names: non-blank, no '/' or ':', not path-like (MLflow's rules)."""
    if name is None or not isinstance(name, str) or name.strip() == "":
        raise InvalidParameterValue(f"Missing value for required parameter '{path}'.")
    if "/" in name or ":" in name:
        raise InvalidParameterValue(f"Invalid model name '{name}'. Names cannot contain '/' or ':'.")
    if path_not_unique(name):
        raise InvalidParameterValue(_invalid_value(path, name, _bad_path_message(name)))
    validate_text(path, name)
    return name


def validate_version(version: object) -> int:
    """A model version number, given as int or numeric string."""
    if isinstance(version, bool):
        raise InvalidParameterValue(f"Parameter 'version' must be an integer, got '{version}'.")
    try:
        number = int(str(version))
    except (TypeError, ValueError):
        raise InvalidParameterValue(f"Parameter 'version' must be an integer, got '{version}'.") from None
    if not is_long(number):
        raise InvalidParameterValue(f"Parameter 'version' must be a 64-bit integer, got '{version}'.")
    return number


def validate_alias(alias: object, *, allow_reserved: bool = False) -> str:
    """An alias name: ``[\\w-]``, at most 255 chars, not ``latest`` and not ``v<n>``.

    ``allow_reserved`` checks the characters only, as MLflow does when an alias is read or
    deleted: the reserved names are well-formed there (deleting ``latest`` is a quiet no-op).
    """
    if alias is None or alias == "":
        raise InvalidParameterValue("Registered model alias name cannot be empty.")
    if not isinstance(alias, str) or not _ALIAS_NAME.match(alias):
        raise InvalidParameterValue(
            f"Invalid alias name: '{alias}'. Names may only contain alphanumerics, underscores (_),"
            " and dashes (-)."
        )
    validate_length("Registered model alias name", MAX_REGISTERED_MODEL_ALIAS_LENGTH, alias)
    if allow_reserved:
        return alias
    if alias.lower() == "latest":
        raise InvalidParameterValue("'latest' alias name (case insensitive) is reserved.")
    if _VERSION_ALIAS.match(alias):
        raise InvalidParameterValue(f"Version alias name '{alias}' is reserved.")
    return alias


def validate_dataset_fields(
    name: object, digest: object, source_type: object, source: object, schema: object, profile: object
) -> None:
    for field_name, value in (
        ("name", name),
        ("digest", digest),
        ("source_type", source_type),
        ("source", source),
    ):
        if value is None:
            raise InvalidParameterValue(f"Dataset {field_name} cannot be None")
        validate_string(field_name, value)
    validate_length("name", MAX_DATASET_NAME_SIZE, name)  # type: ignore[arg-type]
    validate_length("digest", MAX_DATASET_DIGEST_SIZE, digest)  # type: ignore[arg-type]
    validate_length("source", MAX_DATASET_SOURCE_SIZE, source)  # type: ignore[arg-type]
    validate_length("schema", MAX_DATASET_SCHEMA_SIZE, schema)  # type: ignore[arg-type]
    validate_length("profile", MAX_DATASET_PROFILE_SIZE, profile)  # type: ignore[arg-type]
    for field_name, value in (("schema", schema), ("profile", profile)):
        if value is not None:
            validate_string(field_name, value)


def validate_input_tag(key: object, value: object) -> None:
    if key is None:
        raise InvalidParameterValue("InputTag key cannot be None")
    if value is None:
        raise InvalidParameterValue("InputTag value cannot be None")
    validate_length("key", MAX_INPUT_TAG_KEY_SIZE, validate_string("key", key))
    validate_length("value", MAX_INPUT_TAG_VALUE_SIZE, validate_string("value", value))


def validate_logged_model_name(name: str | None) -> None:
    if name is None:
        return
    bad_chars = ("/", ":", ".", "%", '"', "'")
    if not name or any(c in name for c in bad_chars):
        raise InvalidParameterValue(
            f"Invalid model name ({name!r}) provided. Model name must be a non-empty string and"
            f" cannot contain the following characters: {bad_chars}"
        )
    validate_text("name", name)


def _join(path: str, leaf: str) -> str:
    return f"{path}.{leaf}" if path else leaf


RUN_NAME_TAG = "mlflow.runName"


def run_name_and_tags(run_name: str | None, tags: Sequence[tuple[str, str]]) -> tuple[str, dict[str, str]]:
    """A new run's name and tag map: ``run_name``, else the ``mlflow.runName`` tag, else "";
    a name is also written as that tag. Validates the tags.

    Raises:
        InvalidParameterValue: a bad tag, or a ``run_name`` that contradicts the tag.
    """
    for key, value in tags:
        validate_run_tag(key, value)
    validate_text("run_name", run_name)
    tag_map = dict(tags)
    name_tag = tag_map.get(RUN_NAME_TAG)
    if run_name and name_tag and run_name != name_tag:
        raise InvalidParameterValue(
            "Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different"
            f" values (run_name='{run_name}', mlflow.runName='{name_tag}')."
        )
    name = run_name or name_tag or ""
    if name:
        tag_map[RUN_NAME_TAG] = name
    return name, tag_map


def validate_run_start(user_id: object, start_time: object) -> int | None:
    """A new run's user and start time (None: the store's clock) as every backend stores them.

    Raises:
        InvalidParameterValue: a user id that is not storable text, a start time that is not a
            64-bit integer.
    """
    if isinstance(user_id, str):
        validate_text("user_id", user_id)
    return validate_long("start_time", start_time)


def validate_run_update(end_time: object, run_name: object) -> int | None:
    """``update_run_info``'s end time (None: unchanged) as a 64-bit integer, its run name checked.

    Raises:
        InvalidParameterValue: an end time that is not a 64-bit integer, a run name that is not
            storable text.
    """
    if isinstance(run_name, str):
        validate_text("run_name", run_name)
    return validate_long("end_time", end_time)


def validate_model_outputs(models: Iterable[Any]) -> None:
    """``log_outputs``' logged-model outputs: each a storable model id, each step a 64-bit integer."""
    for model in models:
        validate_lookup("model_id", model.model_id)
        validate_long("step", model.step)


def validate_log_batch(
    metrics: Sequence[tuple[object, object, object, object]],
    params: Sequence[tuple[object, object]],
    tags: Sequence[tuple[object, object]],
) -> None:
    """Everything ``log_batch`` checks before touching the store: each item (paths such as
    ``metrics[3]`` unless the batch holds one item), the batch limits and unique param keys."""
    single = len(metrics) + len(params) + len(tags) == 1
    validate_metrics(metrics, indexed=not single)
    for i, (key, value) in enumerate(params):
        validate_param(key, value, "" if single else f"params[{i}]")
    for i, (key, value) in enumerate(tags):
        validate_run_tag(key, value, "" if single else f"tags[{i}]")
    validate_batch_limits(len(metrics), len(params), len(tags))
    validate_unique_param_keys([key for key, _ in params])  # type: ignore[misc]


def changed_params_error(run_id: str, changes: Sequence[tuple[str, str, str]]) -> InvalidParameterValue:
    """MLflow's error for (key, stored value, new value) params a batch would change."""
    described = [{"key": k, "old_value": old, "new_value": new} for k, old, new in changes]
    return InvalidParameterValue(
        f"Changing param values is not allowed. Params were already logged='{described}'"
        f" for run ID='{run_id}'."
    )
