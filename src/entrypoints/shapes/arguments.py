"""MLflow's call arguments -> the domain's: what its client and server pass to a store method.

Odd input gets MLflow's answer where MLflow has a sensible one, and an INVALID_PARAMETER_VALUE
(a domain error) where MLflow's is a crash or a silent empty result.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping
from typing import Any, TypeGuard

from genesis_flow.core import entities as core
from genesis_flow.core.errors import InvalidParameterValue

# MLflow's ViewType.from_string names.
_VIEW_TYPE_NAMES = {"active_only": 1, "deleted_only": 2, "all": 3}
# MLflow's LoggedModelStatus proto numbers (its ``from_int``); 0 is UNSPECIFIED, which we lack.
_LOGGED_MODEL_STATUS_BY_NUMBER = {1: "PENDING", 2: "READY", 3: "FAILED"}
_RUN_STATUS_BY_NUMBER = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}


def _is_int(value: object) -> TypeGuard[numbers.Integral]:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def experiment_ids_to_core(experiment_ids: Any) -> list[str]:
    """A list of id strings from what MLflow's callers pass: a list of ids (strings or ints), or
    one id alone; None is none."""
    if experiment_ids is None:
        return []
    if isinstance(experiment_ids, (str, int)):
        return [str(experiment_ids)]
    return [str(e) for e in experiment_ids]


def view_type_to_core(view_type: Any, missing: core.ViewType | None = None) -> core.ViewType:
    """MLflow's ``ViewType`` int (1, 2, 3, numpy ints too), one of its ``from_string`` names, or a
    domain ViewType. None is ``missing`` when the caller gives one.

    MLflow's stores silently return nothing for an unknown view type; we refuse it instead.
    """
    if isinstance(view_type, core.ViewType):
        return view_type
    if view_type is None and missing is not None:
        return missing
    number = _VIEW_TYPE_NAMES.get(view_type) if isinstance(view_type, str) else view_type
    if _is_int(number) and int(number) in _VIEW_TYPE_NAMES.values():
        return core.ViewType(int(number))
    raise InvalidParameterValue(
        f"Invalid view type {view_type!r}: expected ViewType.ACTIVE_ONLY (1), ViewType.DELETED_ONLY (2)"
        " or ViewType.ALL (3)"
    )


def run_status_to_core(status: Any) -> core.RunStatus | None:
    """MLflow's RunStatus int (``RunStatus.FINISHED``) or name -> ours; None stays None."""
    if status is None:
        return None
    if _is_int(status):
        return core.RunStatus.parse(_RUN_STATUS_BY_NUMBER.get(int(status), str(status)))
    return core.RunStatus.parse(str(status))


def logged_model_status_to_core(status: Any) -> core.LoggedModelStatus:
    """MLflow's LoggedModelStatus (a str enum: its value), its proto number or its name -> ours."""
    if _is_int(status):
        return core.LoggedModelStatus.parse(_LOGGED_MODEL_STATUS_BY_NUMBER.get(int(status), str(status)))
    return core.LoggedModelStatus.parse(str(getattr(status, "value", status)))


def dataset_refs_to_core(datasets: Iterable[dict[str, Any]] | None) -> tuple[core.DatasetRef, ...]:
    """``search_logged_models(datasets=[{"dataset_name": ..., "dataset_digest": ...}])`` -> ours.

    MLflow's client and server send ``dataset_name``; ``name`` and ``digest`` (the abstract
    store's docstring) are accepted too.
    """
    refs = []
    for entry in datasets or ():
        given = _clause(entry, "datasets")
        name = given.get("dataset_name") or given.get("name")
        if not name:
            raise InvalidParameterValue("`dataset_name` in the `datasets` clause must be specified.")
        refs.append(core.DatasetRef(str(name), given.get("dataset_digest") or given.get("digest")))
    return tuple(refs)


def logged_model_order_by_to_core(order_by: Iterable[dict[str, Any]] | None) -> list[str]:
    """``[{"field_name": "metrics.my acc", "ascending": False}]`` -> ``["metrics.`my acc` DESC"]``,
    for the domain's order-by parser.

    As MLflow's SQL store: the key after ``metrics.`` is taken whole (spaces and all), and
    ``ascending`` is read for its truth (missing is True). A missing ``field_name`` is refused
    (MLflow crashes with INTERNAL_ERROR). ``dataset_name`` / ``dataset_digest`` in an entry are
    not expressible in our order-by (the latest value over all datasets orders); they are
    ignored.
    """
    clauses = []
    for entry in order_by or ():
        given = _clause(entry, "order_by")
        field_name = given.get("field_name")
        if not field_name:
            raise InvalidParameterValue("`field_name` in `order_by` must be specified.")
        direction = "ASC" if given.get("ascending", True) else "DESC"
        clauses.append(f"{_quoted_field(str(field_name))} {direction}")
    return clauses


def _clause(entry: object, argument: str) -> Mapping[str, Any]:
    # MLflow documents dicts; anything else would otherwise fail as an AttributeError deep inside.
    if not isinstance(entry, Mapping):
        raise InvalidParameterValue(f"Each entry of `{argument}` must be a dict, got {entry!r}")
    return entry


def _quoted_field(field_name: str) -> str:
    # MLflow sends the bare key ("metrics.my acc"); our grammar wants odd keys in backticks.
    prefix, dot, key = field_name.partition(".")
    if not dot or key.isidentifier() or key.startswith("`"):
        return field_name
    return f"{prefix}.`{key}`"
