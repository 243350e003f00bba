"""Documents <-> entities for the Mongo stores: what each collection's documents hold, written
once for the writers and the readers (the field names are listed in :mod:`.tracking` and
:mod:`.registry`). Pure functions: no collection is touched here."""

from __future__ import annotations

import hashlib
import math
import struct
from collections.abc import Iterable, Sequence
from typing import Any

from genesis_flow.adapters.mongo import search as q
from genesis_flow.adapters.mongo.keys import decode, decode_map, encode
from genesis_flow.core.entities import (
    Dataset,
    DatasetInput,
    Experiment,
    ExperimentTag,
    InputTag,
    LifecycleStage,
    LoggedModel,
    LoggedModelInput,
    LoggedModelOutput,
    LoggedModelParameter,
    LoggedModelStatus,
    LoggedModelTag,
    Metric,
    ModelMetric,
    Param,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunOutputs,
    RunStatus,
    RunTag,
    metric_order_key,
)
from genesis_flow.core.registry import (
    ModelVersion,
    ModelVersionStatus,
    ModelVersionTag,
    RegisteredModel,
    RegisteredModelAlias,
    RegisteredModelTag,
    Stage,
)
from genesis_flow.core.search import IS_PROMPT_TAG, clamp


def short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def id_order(experiment_id: str) -> int:
    # Ids are decimal strings; an imported id that is not sorts after all of them.
    return int(experiment_id) if experiment_id.isdigit() and len(experiment_id) < 19 else 2**62


# --- experiments ----------------------------------------------------------------------------------


def experiment_from(doc: dict[str, Any]) -> Experiment:
    return Experiment(
        experiment_id=doc["_id"],
        name=doc["name"],
        artifact_location=doc["art"],
        lifecycle_stage=LifecycleStage(doc["l"]),
        creation_time=doc.get("ct"),
        last_update_time=doc.get("ut"),
        tags=tuple(ExperimentTag(k, val) for k, val in decode_map(doc.get("t")).items()),
    )


def experiment_doc(
    experiment_id: str,
    name: str,
    artifact_location: str | None,
    stage: LifecycleStage,
    created: int | None,
    updated: int | None,
    tags: Iterable[ExperimentTag],
) -> dict[str, Any]:
    """An experiment document without its ``_id`` (an import replaces the document by id)."""
    return {
        "xi": id_order(experiment_id),
        "name": name,
        "art": artifact_location,
        "l": stage.value,
        "ct": created,
        "ut": updated,
        "t": {encode(tag.key): tag.value for tag in tags},
    }


# --- runs -----------------------------------------------------------------------------------------


def run_doc(info: RunInfo) -> dict[str, Any]:
    return {
        "_id": info.run_id,
        "x": info.experiment_id,
        "n": info.run_name,
        "u": info.user_id,
        "st": info.status.value,
        "t0": info.start_time,
        "t1": info.end_time,
        "a": info.artifact_uri,
        "l": info.lifecycle_stage.value,
        "p": {},
        "t": {},
        "m": {},
        "sz": 0,
    }


def run_info_from(doc: dict[str, Any]) -> RunInfo:
    return RunInfo(
        run_id=doc["_id"],
        experiment_id=doc["x"],
        run_name=doc["n"],
        user_id=doc["u"],
        status=RunStatus(doc["st"]),
        start_time=doc.get("t0"),
        end_time=doc.get("t1"),
        artifact_uri=doc["a"],
        lifecycle_stage=LifecycleStage(doc["l"]),
    )


def value_size(key: str, value: str) -> int:
    return len(key) + len(value.encode()) + 8


def values_of(doc: dict[str, Any], kind: str, spilled: dict[tuple[str, str, str], str]) -> dict[str, str]:
    values = decode_map(doc.get(kind))
    for field, digest in (doc.get(f"{kind}h") or {}).items():
        full = spilled.get((doc["_id"], kind, digest))
        if full is not None:
            values[decode(field)] = full
    return values


def run_from(
    doc: dict[str, Any],
    spilled: dict[tuple[str, str, str], str],
    datasets: dict[tuple[str, str, str], Dataset],
) -> Run:
    params = values_of(doc, "p", spilled)
    tags = values_of(doc, "t", spilled)
    inputs = []
    for i in doc.get("di") or ():
        dataset = datasets.get((doc["x"], i["n"], i["d"]))
        if dataset is not None:
            inputs.append(DatasetInput(dataset, tuple(InputTag(k, val) for k, val in i["tg"])))
    return Run(
        info=run_info_from(doc),
        data=RunData(
            metrics=tuple(metric_from_latest(decode(k), m) for k, m in (doc.get("m") or {}).items()),
            params=tuple(Param(k, val) for k, val in params.items()),
            tags=tuple(RunTag(k, val) for k, val in tags.items()),
        ),
        inputs=RunInputs(
            dataset_inputs=tuple(inputs),
            model_inputs=tuple(LoggedModelInput(m) for m in doc.get("mi") or ()),
        ),
        outputs=RunOutputs(tuple(LoggedModelOutput(o["m"], o["s"]) for o in doc.get("mo") or ())),
    )


def dataset_input_doc(item: DatasetInput) -> dict[str, Any]:
    """A dataset input in a run document's ``di`` list (the dataset itself is in ``datasets``)."""
    return {
        "n": item.dataset.name,
        "d": item.dataset.digest,
        "c": item.context,
        "tg": [[tag.key, tag.value] for tag in item.tags],
    }


# --- metrics --------------------------------------------------------------------------------------


def order_value(value: float) -> float:
    return 0.0 if math.isnan(value) else float(value)


def order_code(m: Metric) -> str:
    """MLflow's latest-value order (step, timestamp, value with NaN as 0, NaN last) as one string
    that compares like the tuple: fixed-width hex of sign-flipped integers and of the double's
    order-preserving bits. One field, so "stored point is older" is one comparison, not an $or."""
    step, timestamp, value, nan = metric_order_key(m)
    bits = struct.unpack(">Q", struct.pack(">d", value + 0.0))[0]
    bits = (~bits & _U64) if bits >> 63 else bits | (1 << 63)
    return f"{(step + (1 << 63)) & _U64:016x}{(timestamp + (1 << 63)) & _U64:016x}{bits:016x}{nan}"


_U64 = (1 << 64) - 1


def latest_doc(m: Metric) -> dict[str, Any]:
    """A latest value in a run document: ``v`` compares (clamped, NaN kept), ``r`` ranks number
    (2) before NaN (1), ``o``/``n`` order points (NaN as 0, then NaN last) and ``k`` is that order
    as one string (:func:`order_code`), ``x`` the raw value when it is infinite."""
    value = float(m.value)
    nan = math.isnan(value)
    doc: dict[str, Any] = {
        "v": clamp(value),
        "r": q.NAN_RANK if nan else q.NUMBER_RANK,
        "s": m.step,
        "t": m.timestamp,
        "o": order_value(value),
        "n": 1 if nan else 0,
        "k": order_code(m),
    }
    if math.isinf(value):
        doc["x"] = value
    for name, field in (("model_id", "mid"), ("dataset_name", "dn"), ("dataset_digest", "dd")):
        if getattr(m, name) is not None:
            doc[field] = getattr(m, name)
    return doc


def metric_from_latest(key: str, doc: dict[str, Any]) -> Metric:
    value = math.nan if doc["r"] == q.NAN_RANK else doc.get("x", doc["v"])
    return Metric(key, value, doc["t"], doc["s"], doc.get("mid"), doc.get("dn"), doc.get("dd"))


def point_id(run_id: str, m: Metric) -> str:
    # The identity of a point (key, value, timestamp, step): -0.0 + 0.0 is 0.0, as they are equal.
    value = float(m.value) + 0.0
    return f"{run_id}:{short_hash(repr((m.key, repr(value), m.timestamp, m.step)))}"


def history_doc(run_id: str, m: Metric) -> dict[str, Any]:
    value = float(m.value)
    doc: dict[str, Any] = {
        "_id": point_id(run_id, m),
        "r": run_id,
        "k": m.key,
        "v": order_value(value),
        "t": m.timestamp,
        "s": m.step,
    }
    if math.isnan(value):
        doc["nan"] = 1
    for name, field in (("model_id", "mid"), ("dataset_name", "dn"), ("dataset_digest", "dd")):
        if getattr(m, name) is not None:
            doc[field] = getattr(m, name)
    return doc


def metric_from_history(doc: dict[str, Any]) -> Metric:
    value = math.nan if doc.get("nan") else doc["v"]
    return Metric(doc["k"], value, doc["t"], doc["s"], doc.get("mid"), doc.get("dn"), doc.get("dd"))


def pending_entry(batch_id: str, now: int, metrics: Sequence[Metric]) -> dict[str, Any]:
    """A batch's points as one entry of the run document's ``w`` list: ``i`` the batch id, ``at``
    when it was written, ``z`` its size, ``g`` the points grouped by key (and model and dataset
    links) as parallel lists of values, timestamps and steps, so a key is stored once."""
    groups: dict[tuple[str, str | None, str | None, str | None], dict[str, Any]] = {}
    for m in metrics:
        identity = (m.key, m.model_id, m.dataset_name, m.dataset_digest)
        group = groups.get(identity)
        if group is None:
            group = groups[identity] = {"k": m.key, "v": [], "t": [], "s": []}
            if any(x is not None for x in identity[1:]):
                group["e"] = list(identity[1:])
        group["v"].append(float(m.value))
        group["t"].append(m.timestamp)
        group["s"].append(m.step)
    size = 64 + sum(len(k[0].encode()) + 64 + 40 * len(g["v"]) for k, g in groups.items())
    return {"i": batch_id, "at": now, "z": size, "g": list(groups.values())}


def pending_points(entry: dict[str, Any]) -> list[Metric]:
    points = []
    for g in entry["g"]:
        model_id, dataset_name, dataset_digest = g.get("e") or (None, None, None)
        for value, timestamp, step in zip(g["v"], g["t"], g["s"], strict=True):
            points.append(Metric(g["k"], value, timestamp, step, model_id, dataset_name, dataset_digest))
    return points


# --- datasets -------------------------------------------------------------------------------------

# Bytes of source, schema and profile a dataset document holds. MLflow allows a 16 MB profile,
# past MongoDB's 16 MB and Cosmos DB's 2 MB per document: beyond this budget the long fields move
# to `dataset_values` in chunks of at most DATASET_CHUNK_BYTES in UTF-8 (a character takes up to
# 4 bytes: ASCII text is cut every DATASET_CHUNK_BYTES characters, other text every quarter of
# that), so each chunk document stays under 1 MB, and are read back whole.
DATASET_INLINE_BUDGET = 512_000
DATASET_CHUNK_BYTES = 900_000
_DATASET_TEXT_FIELDS = ("source", "schema", "profile")
_SHORT_FIELD = 1_000


def dataset_id(experiment_id: str, name: str, digest: str) -> str:
    return short_hash(repr((experiment_id, name, digest)))


def chunk_id(dataset_id: str, field: str, digest: str, index: int) -> str:
    return f"{dataset_id}/{field}/{digest}/{index}"


def dataset_values(dataset_id: str, dataset: Dataset) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The text fields of a dataset document, and the chunk documents of the fields moved out of
    it (``ox``: field -> [hash of the value, number of chunks]). The chunk ids carry the value's
    hash, so a dataset document only ever names chunks of its own value, whichever racing writer
    inserted it first."""
    values: dict[str, Any] = {f: getattr(dataset, f) for f in _DATASET_TEXT_FIELDS}
    if sum(len(x.encode()) for x in values.values() if x) <= DATASET_INLINE_BUDGET:
        return values, []
    chunks: list[dict[str, Any]] = []
    moved: dict[str, list[Any]] = {}
    for field, value in list(values.items()):
        if value is None or len(value) <= _SHORT_FIELD:
            continue
        digest = short_hash(value)
        size = DATASET_CHUNK_BYTES if value.isascii() else DATASET_CHUNK_BYTES // 4
        parts = range(0, len(value), size)
        chunks.extend(
            {"_id": chunk_id(dataset_id, field, digest, i), "v": value[start : start + size]}
            for i, start in enumerate(parts)
        )
        moved[field] = [digest, len(parts)]
        values[field] = None
    values["ox"] = moved
    return values, chunks


def dataset_from(row: dict[str, Any], moved: dict[tuple[str, str], str]) -> Dataset:
    """A dataset document as an entity; ``moved`` holds the values stored out of line
    (:func:`dataset_values`), by (dataset id, field)."""
    key = row["_id"]
    return Dataset(
        row["name"],
        row["digest"],
        row["source_type"],
        moved.get((key, "source"), row["source"]),
        moved.get((key, "schema"), row.get("schema")),
        moved.get((key, "profile"), row.get("profile")),
    )


# --- logged models --------------------------------------------------------------------------------


def logged_model_doc(model: LoggedModel) -> dict[str, Any]:
    """A new logged model's document: no metrics yet (``ms`` every point, ``ml`` each key's
    latest, see :func:`model_point`)."""
    return {
        "_id": model.model_id,
        "x": model.experiment_id,
        "name": model.name,
        "art": model.artifact_location,
        "ct": model.creation_timestamp,
        "ut": model.last_updated_timestamp,
        "status": model.status.value,
        "msg": None,
        "type": model.model_type,
        "src": model.source_run_id,
        "l": LifecycleStage.ACTIVE.value,
        "t": {encode(x.key): x.value for x in model.tags},
        "p": {encode(x.key): x.value for x in model.params},
        "ms": [],
        "ml": {},
    }


def logged_model_from(doc: dict[str, Any]) -> LoggedModel:
    return LoggedModel(
        model_id=doc["_id"],
        experiment_id=doc["x"],
        name=doc["name"],
        artifact_location=doc["art"],
        creation_timestamp=doc["ct"],
        last_updated_timestamp=doc["ut"],
        status=LoggedModelStatus(doc["status"]),
        status_message=doc.get("msg"),
        model_type=doc.get("type"),
        source_run_id=doc.get("src"),
        lifecycle_stage=LifecycleStage(doc["l"]),
        tags=tuple(LoggedModelTag(k, val) for k, val in decode_map(doc.get("t")).items()),
        params=tuple(LoggedModelParameter(k, val) for k, val in decode_map(doc.get("p")).items()),
        metrics=tuple(
            ModelMetric(m["k"], m["raw"], m["t"], m["s"], doc["_id"], m.get("dn"), m.get("dd"), m.get("run"))
            for m in doc.get("ms") or ()
        ),
    )


def model_point(run_id: str, m: Metric) -> dict[str, Any]:
    """A metric point in a logged model's ``ms`` list; ``i`` identifies it (with the run and the
    dataset), so a point sent again is pushed once."""
    value = float(m.value)
    return {
        "i": short_hash(
            repr((run_id, m.key, repr(value + 0.0), m.timestamp, m.step, m.dataset_name, m.dataset_digest))
        ),
        "k": m.key,
        "raw": value,
        # MLflow's SQL store keeps a logged model's NaN as 0.0; +/-inf compare clamped.
        "v": clamp(order_value(value)),
        "t": m.timestamp,
        "s": m.step,
        "dn": m.dataset_name,
        "dd": m.dataset_digest,
        "run": run_id,
    }


# --- registry -------------------------------------------------------------------------------------


def aliases_of(model: dict[str, Any], number: int) -> tuple[str, ...]:
    return tuple(decode(a) for a, n in (model.get("al") or {}).items() if n == number)


def version_from(doc: dict[str, Any], model: dict[str, Any] | None) -> ModelVersion:
    return ModelVersion(
        # The model document holds the name; the version's copy serves searches.
        name=model["name"] if model is not None else doc["n"],
        version=doc["v"],
        creation_timestamp=doc["ct"],
        last_updated_timestamp=doc["ut"],
        current_stage=Stage(doc["st"]),
        description=doc.get("d"),
        user_id=doc.get("u"),
        source=doc.get("src"),
        run_id=doc.get("run"),
        status=ModelVersionStatus(doc.get("status", "READY")),
        status_message=doc.get("sm"),
        run_link=doc.get("rl"),
        model_id=doc.get("lm"),
        tags=tuple(ModelVersionTag(k, val) for k, val in decode_map(doc.get("t")).items()),
        aliases=aliases_of(model, doc["v"]) if model is not None else (),
    )


def registered_model_from(doc: dict[str, Any], latest: Iterable[dict[str, Any]]) -> RegisteredModel:
    return RegisteredModel(
        name=doc["name"],
        creation_timestamp=doc["ct"],
        last_updated_timestamp=doc["ut"],
        description=doc.get("d"),
        latest_versions=tuple(version_from(mv, doc) for mv in latest),
        tags=tuple(RegisteredModelTag(k, val) for k, val in decode_map(doc.get("t")).items()),
        aliases=tuple(RegisteredModelAlias(decode(a), n) for a, n in (doc.get("al") or {}).items()),
    )


def version_doc(
    model_key: str,
    name: str,
    number: int,
    created: int,
    updated: int,
    *,
    stage: Stage = Stage.NONE,
    status: ModelVersionStatus = ModelVersionStatus.READY,
    status_message: str | None = None,
    description: str | None,
    user_id: str | None,
    source: str | None,
    run_id: str | None,
    run_link: str | None,
    model_id: str | None,
    tags: dict[str, str],
) -> dict[str, Any]:
    return {
        "_id": f"{model_key}:{number}",
        "mid": model_key,
        "n": name,
        "v": number,
        "ct": created,
        "ut": updated,
        "d": description,
        "u": user_id,
        "src": source,
        "run": run_id,
        "rl": run_link,
        "lm": model_id,
        "st": stage.value,
        "status": status.value,
        "sm": status_message,
        "t": {encode(k): val for k, val in tags.items()},
        "pt": tags.get(IS_PROMPT_TAG) == "true",
    }


def registered_model_doc(
    model_key: str,
    name: str,
    created: int | None,
    updated: int | None,
    description: str | None,
    tags: dict[str, str],
) -> dict[str, Any]:
    """A registered model's document, with no version, alias or operation in progress yet."""
    return {
        "_id": model_key,
        "name": name,
        "ct": created,
        "ut": updated,
        "d": description,
        "t": {encode(k): val for k, val in tags.items()},
        "al": {},
        "hv": 0,
        "rt": [],
    }
