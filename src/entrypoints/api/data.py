"""MLflow's ``mlflow.data`` (mlflow 3.17.2): ``from_pandas`` / ``from_numpy`` datasets and their sources.

``mlflow.log_input(mlflow.data.from_pandas(df, source=url, name="train"), context="training")``
records a dataset whose digest, schema, profile, source type and source JSON are byte-identical to
what MLflow records for the same input, so runs logged through Genesis-Flow read the same from
MLflow's UI and clients. The pieces reproduced from MLflow:

* digests: ``compute_pandas_digest`` / ``compute_numpy_digest`` (md5 of pandas' row hashes of the
  first 10,000 rows, of the row count and of the column names), truncated to 8 hex characters;
* schemas: MLflow's schema inference (``mlflow.types.utils._infer_schema``) for DataFrames (a
  ``ColSpec`` per column, serialized as ``{"mlflow_colspec": [...]}``) and for numpy arrays or
  dicts of arrays (``TensorSpec``\\ s, serialized as ``{"mlflow_tensorspec": {...}}``), including
  nested ``array`` / ``object`` / ``any`` column types inferred from object columns; when
  inference fails the schema is ``None``, as MLflow's;
* sources: a string or ``Path`` resolves as MLflow's registry resolves it: ``http(s)://`` ->
  ``HTTPDatasetSource`` (``"http"``, ``{"url": ...}``), a local path or ``file:`` URI ->
  ``"local"`` (``{"uri": ...}``), ``s3://``, ``gs://``, ``wasbs://``, ``abfss://``, ``hdfs://``,
  ``viewfs://``, ``ftp://``, ``sftp://``, ``r2://``, ``b2://`` -> that scheme; no source -> a
  ``CodeDatasetSource`` (``"code"``) holding the run-context tags (user, script, git) that
  MLflow's context providers give.

Differences from MLflow: no ``to_pyfunc`` / ``to_evaluation_dataset`` (Genesis-Flow has no
``mlflow.evaluate``); no Spark, Hugging Face, TensorFlow, polars or Delta datasets or sources; the
"integer columns cannot hold missing values" hint and the "source can be interpreted in multiple
ways" warning MLflow emits are not; the code source's tags come from the same context as
``start_run``'s system tags (plus ``MLFLOW_RUN_CONTEXT``), without MLflow's Jupyter and
Databricks providers or its credentials-file user name.

pandas and numpy are imported only when a dataset is built: ``import genesis_flow.data`` loads
neither. This module never imports mlflow.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import shutil
import tempfile
import urllib.parse
import urllib.request
from abc import ABC, abstractmethod
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

from genesis_flow.entrypoints.api import context as _context
from genesis_flow.entrypoints.api.entities import Dataset as DatasetEntity
from genesis_flow.entrypoints.api.entities import DatasetInput
from genesis_flow.entrypoints.api.exceptions import (
    INVALID_PARAMETER_VALUE,
    RESOURCE_DOES_NOT_EXIST,
    mlflow_exception,
)

# The package logger: its filter (exceptions.RedactingFilter) redacts what a source URI carries.
_logger = logging.getLogger("genesis_flow")

# MLflow hashes at most this many rows (DataFrames) or elements (arrays) into a digest.
MAX_ROWS = 10000
# JSON run-context tags (MLflow's SystemEnvironmentContext).
_RUN_CONTEXT_ENV = "MLFLOW_RUN_CONTEXT"


# --- digests (mlflow.data.digest_utils) -----------------------------------------------------------


def get_normalized_md5_digest(elements: list[Any]) -> str:
    """The first 8 hex characters of the md5 of the elements (each bytes-like)."""
    if not elements:
        raise mlflow_exception(
            "No hashable elements were provided for md5 digest creation", INVALID_PARAMETER_VALUE
        )
    md5 = hashlib.md5(usedforsecurity=False)
    for element in elements:
        md5.update(element)
    return md5.hexdigest()[:8]


def compute_pandas_digest(df: Any) -> str:
    """MLflow's digest of a DataFrame: its first ``MAX_ROWS`` rows (string and numeric columns
    only), its length and its column names."""
    import numpy as np
    import pandas as pd  # type: ignore[import-untyped]

    trimmed_df = df.head(MAX_ROWS)
    # MLflow tests the whole frame (not the trimmed one) for all-string columns.
    types = df.map(type) if hasattr(df, "map") else df.applymap(type)
    string_columns = trimmed_df.columns[(types == str).all(axis=0)]  # noqa: E721 (element-wise)
    numeric_columns = trimmed_df.select_dtypes(include=[np.number]).columns
    trimmed_df = trimmed_df[string_columns.union(numeric_columns)]
    return get_normalized_md5_digest(
        [pd.util.hash_pandas_object(trimmed_df).values, np.int64(len(df))]
        + [str(x).encode() for x in df.columns]
    )


def compute_numpy_digest(features: Any, targets: Any = None) -> str:
    """MLflow's digest of numpy features (and targets): the hashes of the first ``MAX_ROWS``
    flattened elements and the full shape of each array (dict entries in key order)."""
    import numpy as np
    import pandas as pd

    elements: list[Any] = []

    def hash_array(array: Any) -> None:
        trimmed = array.flatten()[0:MAX_ROWS]
        try:
            elements.append(pd.util.hash_array(trimmed))
        except TypeError:
            elements.append(np.int64(trimmed.size))
        elements.extend(np.int64(x) for x in array.shape)

    for item in (features, targets):
        if item is None:
            continue
        if isinstance(item, dict):
            for key in sorted(item.keys()):
                hash_array(item[key])
        else:
            hash_array(item)
    return get_normalized_md5_digest(elements)


# --- schema types (mlflow.types.schema) ------------------------------------------------------------


class DataType:
    """An MLflow scalar type (``boolean``, ``integer``, ``long``, ``float``, ``double``, ``string``,
    ``binary``, ``datetime``); ``DataType.long`` etc. are the instances."""

    boolean: ClassVar[DataType]
    integer: ClassVar[DataType]
    long: ClassVar[DataType]
    float: ClassVar[DataType]
    double: ClassVar[DataType]
    string: ClassVar[DataType]
    binary: ClassVar[DataType]
    datetime: ClassVar[DataType]

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


for _name in ("boolean", "integer", "long", "float", "double", "string", "binary", "datetime"):
    setattr(DataType, _name, DataType(_name))


class AnyType:
    """The type of ``None`` values and empty containers; merges into any other type."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AnyType)

    def __hash__(self) -> int:
        return hash("any")

    def __repr__(self) -> str:
        return "Any"

    def to_dict(self) -> dict[str, Any]:
        return {"type": "any"}

    def _merge(self, other: Any) -> Any:
        if self == other:
            return AnyType()
        if isinstance(other, DataType):
            return other
        if not isinstance(other, (Array, Object, Property)):
            raise mlflow_exception(f"Can't merge AnyType with {type(other).__name__}")
        return other._merge(self)


def _type_dict(dtype: Any) -> dict[str, Any]:
    return {"type": dtype.name} if isinstance(dtype, DataType) else dtype.to_dict()


class Property:
    """A named, possibly optional, property of an ``Object``."""

    def __init__(self, name: str, dtype: Any, required: bool = True) -> None:
        if not isinstance(name, str):
            raise mlflow_exception(
                f"Expected name to be a string, got type {type(name).__name__}", INVALID_PARAMETER_VALUE
            )
        self.name = name
        self.dtype = dtype
        self.required = required

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Property) and (self.name, self.dtype, self.required) == (
            other.name,
            other.dtype,
            other.required,
        )

    def __hash__(self) -> int:
        return hash(self.name)

    def __lt__(self, other: Property) -> bool:
        return self.name < other.name

    def __repr__(self) -> str:
        return f"{self.name}: {self.dtype!r} ({'required' if self.required else 'optional'})"

    def to_dict(self) -> dict[str, Any]:
        d = _type_dict(self.dtype)
        d["required"] = self.required
        return {self.name: d}

    def _merge(self, other: Any) -> Property:
        if isinstance(other, AnyType):
            return Property(self.name, self.dtype, required=False)
        if not isinstance(other, Property):
            raise mlflow_exception(f"Can't merge property with non-property type: {type(other).__name__}")
        if self.name != other.name:
            raise mlflow_exception("Can't merge properties with different names")
        required = self.required and other.required
        if isinstance(self.dtype, DataType):
            if self.dtype == other.dtype or isinstance(other.dtype, AnyType):
                return Property(self.name, self.dtype, required=required)
            raise mlflow_exception(f"Properties are incompatible for {self.dtype} and {other.dtype}")
        return Property(self.name, self.dtype._merge(other.dtype), required=required)


class Object:
    """A JSON object type: properties sorted by name."""

    def __init__(self, properties: list[Property]) -> None:
        if not properties:
            raise mlflow_exception(
                "Creating Object with empty properties is not allowed.", INVALID_PARAMETER_VALUE
            )
        names = [prop.name for prop in properties]
        duplicates = {name for name in names if names.count(name) > 1}
        if duplicates:
            raise mlflow_exception(
                f"Found duplicated property names: `{', '.join(duplicates)}`", INVALID_PARAMETER_VALUE
            )
        self.properties = sorted(properties)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Object) and self.properties == other.properties

    def __hash__(self) -> int:
        return hash(tuple(p.name for p in self.properties))

    def __repr__(self) -> str:
        return "{" + ", ".join(map(repr, self.properties)) + "}"

    def to_dict(self) -> dict[str, Any]:
        properties = {name: value for prop in self.properties for name, value in prop.to_dict().items()}
        return {"type": "object", "properties": properties}

    def _merge(self, other: Any) -> Object:
        if isinstance(other, AnyType):
            return Object([Property(p.name, p.dtype, required=False) for p in self.properties])
        if not isinstance(other, Object):
            raise mlflow_exception(f"Can't merge object with non-object type: {type(other).__name__}")
        if self == other:
            return Object(list(self.properties))
        mine = {prop.name: prop for prop in self.properties}
        theirs = {prop.name: prop for prop in other.properties}
        merged = [Property(k, mine[k].dtype, required=False) for k in mine.keys() - theirs.keys()]
        merged.extend(mine[k]._merge(theirs[k]) for k in mine.keys() & theirs.keys())
        merged.extend(Property(k, theirs[k].dtype, required=False) for k in theirs.keys() - mine.keys())
        return Object(merged)


class Array:
    """A JSON array type of one item type."""

    def __init__(self, dtype: Any) -> None:
        self.dtype = dtype

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Array) and self.dtype == other.dtype

    def __hash__(self) -> int:
        return hash(("array", repr(self.dtype)))

    def __repr__(self) -> str:
        return f"Array({self.dtype!r})"

    def to_dict(self) -> dict[str, Any]:
        return {"type": "array", "items": _type_dict(self.dtype)}

    def _merge(self, other: Any) -> Array:
        if isinstance(other, AnyType) or self == other:
            return Array(self.dtype)
        if not isinstance(other, Array):
            raise mlflow_exception(f"Can't merge array with non-array type: {type(other).__name__}")
        if isinstance(self.dtype, DataType):
            if self.dtype == other.dtype or isinstance(other.dtype, AnyType):
                return Array(self.dtype)
            raise mlflow_exception(f"Array types are incompatible for {self} and {other}")
        return Array(self.dtype._merge(other.dtype))


class ColSpec:
    """A column: type, optional name, and whether values are required (no missing ones)."""

    def __init__(self, type: Any, name: Any = None, required: bool = True) -> None:
        self.type = type
        self.name = name
        self.required = required

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ColSpec) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(repr(self))

    def __repr__(self) -> str:
        required = "required" if self.required else "optional"
        if self.name is None:
            return f"{self.type!r} ({required})"
        return f"{self.name!r}: {self.type!r} ({required})"

    def to_dict(self) -> dict[str, Any]:
        d = _type_dict(self.type)
        if self.name is not None:
            d["name"] = self.name
        d["required"] = self.required
        return d


class TensorSpec:
    """A tensor: numpy dtype, shape (``-1`` for the variable first dimension), optional name."""

    required = True

    def __init__(self, type: Any, shape: tuple[int, ...] | list[int], name: str | None = None) -> None:
        self.type = type
        self.shape = tuple(shape)
        self.name = name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TensorSpec) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(repr(self))

    def __repr__(self) -> str:
        info = f"Tensor({self.type.name!r}, {self.shape!r})"
        return info if self.name is None else f"{self.name!r}: {info}"

    def to_dict(self) -> dict[str, Any]:
        spec = {"type": "tensor", "tensor-spec": {"dtype": self.type.name, "shape": self.shape}}
        return spec if self.name is None else {"name": self.name, **spec}


class Schema:
    """MLflow's ``Schema``: a list of ``ColSpec`` or of ``TensorSpec``."""

    def __init__(self, inputs: list[Any]) -> None:
        if not inputs:
            raise mlflow_exception(
                "Creating Schema with empty inputs is not allowed.", INVALID_PARAMETER_VALUE
            )
        unnamed = [x.name is None for x in inputs]
        if any(unnamed) and not all(unnamed):
            raise mlflow_exception(
                "Creating Schema with a combination of named and unnamed inputs is not allowed. "
                f"Got input names {[x.name for x in inputs]}"
            )
        if all(unnamed) and any(x.required is False for x in inputs):
            raise mlflow_exception(
                "Creating Schema with unnamed optional inputs is not supported. "
                "Please name all inputs or make all inputs required."
            )
        if all(isinstance(x, TensorSpec) for x in inputs) and len(inputs) > 1 and any(unnamed):
            raise mlflow_exception(
                "Creating Schema with multiple unnamed TensorSpecs is not supported. "
                "Please provide names for each TensorSpec."
            )
        self.inputs = inputs

    def __len__(self) -> int:
        return len(self.inputs)

    def __iter__(self) -> Any:
        return iter(self.inputs)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Schema) and self.inputs == other.inputs

    def __hash__(self) -> int:
        return hash(tuple(map(repr, self.inputs)))

    def __repr__(self) -> str:
        return repr(self.inputs)

    def is_tensor_spec(self) -> bool:
        return bool(self.inputs) and isinstance(self.inputs[0], TensorSpec)

    def input_names(self) -> list[Any]:
        return [x.name or i for i, x in enumerate(self.inputs)]

    def input_types(self) -> list[Any]:
        return [x.type for x in self.inputs]

    def to_dict(self) -> list[dict[str, Any]]:
        return [x.to_dict() for x in self.inputs]

    def to_json(self) -> str:
        return json.dumps(self.to_dict())


class TensorDatasetSchema:
    """The schema of a numpy dataset: features and (optional) targets tensor schemas."""

    def __init__(self, features: Schema, targets: Schema | None = None) -> None:
        self.features = features
        self.targets = targets

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, TensorDatasetSchema)
            and self.features == other.features
            and self.targets == other.targets
        )

    def __hash__(self) -> int:
        return hash((self.features, self.targets))

    def __repr__(self) -> str:
        return f"features:\n  {self.features!r}\ntargets:\n  {self.targets!r}\n"

    def to_dict(self) -> dict[str, Any]:
        return {
            "mlflow_tensorspec": {
                "features": self.features.to_json(),
                "targets": self.targets.to_json() if self.targets is not None else None,
            }
        }


# --- schema inference (mlflow.types.utils) ---------------------------------------------------------

_MULTIPLE_TYPES = "Expected all values in the list to be of the same type."


def _is_none_or_nan(x: Any) -> bool:
    if isinstance(x, float):
        return math.isnan(x)
    import pandas as pd

    return x is None or x is pd.NA or x is pd.NaT


def _infer_required(col: Any) -> bool:
    import pandas as pd

    if isinstance(col, (list, pd.Series)):
        return not any(_is_none_or_nan(x) for x in col)
    return not _is_none_or_nan(col)


def _scalar_datatype(data: Any) -> DataType:
    import datetime as dt

    import numpy as np

    mapping: dict[type, DataType] = {
        bool: DataType.boolean,
        np.bool_: DataType.boolean,
        int: DataType.long,
        np.int64: DataType.long,
        np.int32: DataType.integer,
        float: DataType.double,
        np.float64: DataType.double,
        np.float32: DataType.float,
        str: DataType.string,
        np.str_: DataType.string,
        object: DataType.string,
        bytes: DataType.binary,
        np.bytes_: DataType.binary,
        bytearray: DataType.binary,
    }
    found = mapping.get(type(data))
    if found is not None:
        return found
    if type(data) in (dt.date, dt.datetime, np.datetime64):
        return DataType.datetime
    raise mlflow_exception(f"Data {data} is not one of the supported DataType", INVALID_PARAMETER_VALUE)


def _infer_datatype(data: Any) -> Any:
    """DataType, Array, Object or AnyType of a value; None for an empty numpy array."""
    import numpy as np

    if _is_none_or_nan(data) or (isinstance(data, (list, dict)) and not data):
        return AnyType()
    if isinstance(data, dict):
        properties = []
        for key, value in data.items():
            dtype = _infer_datatype(value)
            if dtype is None:
                raise mlflow_exception("Dictionary value must not be an empty numpy array.")
            properties.append(Property(key, dtype, required=not isinstance(dtype, AnyType)))
        return Object(properties)
    if isinstance(data, (list, np.ndarray)):
        return _infer_array_datatype(data)
    return _scalar_datatype(data)


def _infer_array_datatype(data: Any) -> Array | None:
    result: Array | None = None
    for item in data:
        dtype = _infer_datatype(item)
        if dtype is None:
            continue
        if result is None:
            result = Array(dtype)
        elif isinstance(result.dtype, (Array, Object, AnyType)):
            try:
                result = Array(result.dtype._merge(dtype))
            except Exception as e:
                raise mlflow_exception(_MULTIPLE_TYPES, INVALID_PARAMETER_VALUE) from e
        elif not isinstance(dtype, AnyType) and dtype != result.dtype:
            raise mlflow_exception(_MULTIPLE_TYPES, INVALID_PARAMETER_VALUE)
    return result


def _infer_numpy_dtype(dtype: Any) -> DataType:
    kind = dtype.kind
    if kind == "b":
        return DataType.boolean
    if kind in {"i", "u"}:
        if dtype.itemsize < 4 or (kind == "i" and dtype.itemsize == 4):
            return DataType.integer
        if dtype.itemsize < 8 or (kind == "i" and dtype.itemsize == 8):
            return DataType.long
    elif kind == "f":
        if dtype.itemsize <= 4:
            return DataType.float
        if dtype.itemsize <= 8:
            return DataType.double
    elif kind == "U":
        return DataType.string
    elif kind == "S":
        return DataType.binary
    elif kind == "M":
        return DataType.datetime
    raise mlflow_exception(f"Unsupported numpy data type '{dtype}', kind '{kind}'")


def _infer_pandas_column(col: Any) -> Any:
    import pandas as pd

    if not isinstance(col, pd.Series):
        raise TypeError(f"Expected pandas.Series, got '{type(col)}'.")
    if len(col.values.shape) > 1:
        raise mlflow_exception(f"Expected 1d array, got array with shape {col.shape}")
    if col.dtype.kind == "O":
        col = col.infer_objects()
    if col.dtype.kind != "O":
        return _infer_numpy_dtype(col.dtype)
    try:
        arr_type = _infer_datatype(col.to_list())
        if not isinstance(arr_type, Array):
            raise mlflow_exception("Numpy array must include at least one non-empty item.")
        return arr_type.dtype
    except Exception as e:
        # MLflow falls back to string for columns of strings it could not otherwise type.
        if pd.api.types.is_string_dtype(col):
            return DataType.string
        raise mlflow_exception(f"Failed to infer schema for pandas.Series {col}. Error: {e}") from e


def _clean_tensor_type(dtype: Any) -> Any:
    import numpy as np

    if dtype.char == "U":
        return np.dtype("str")
    if dtype.char == "S":
        return np.dtype("bytes")
    return dtype


def _tensor_shape(data: Any) -> tuple[int, ...]:
    import numpy as np

    if not isinstance(data, np.ndarray):
        raise TypeError(f"Expected numpy.ndarray or csc/csr matrix, got '{type(data)}'.")
    shape = list(data.shape)
    if not shape:
        raise mlflow_exception(
            f"The specified variable_dimension 0 is out of bounds with respect to the number of "
            f"dimensions {data.ndim} in the input dataset"
        )
    shape[0] = -1
    return tuple(shape)


def infer_pandas_schema(df: Any) -> Schema:
    """The ColSpec schema MLflow infers for a DataFrame."""
    return Schema(
        [
            ColSpec(type=_infer_pandas_column(df[col]), name=col, required=_infer_required(df[col]))
            for col in df.columns
        ]
    )


def infer_tensor_schema(data: Any) -> Schema:
    """The TensorSpec schema MLflow infers for a numpy array or a dict of named arrays."""
    import numpy as np

    if isinstance(data, dict):
        if not all(isinstance(value, np.ndarray) for value in data.values()):
            raise mlflow_exception("Only dicts of numpy arrays are supported.", INVALID_PARAMETER_VALUE)
        return Schema(
            [
                TensorSpec(_clean_tensor_type(array.dtype), _tensor_shape(array), name=name)
                for name, array in data.items()
            ]
        )
    if isinstance(data, np.ndarray):
        return Schema([TensorSpec(_clean_tensor_type(data.dtype), _tensor_shape(data))])
    raise mlflow_exception(f"Failed to infer schema from {type(data).__name__}.", INVALID_PARAMETER_VALUE)


# --- sources (mlflow.data.*_dataset_source) ---------------------------------------------------------


class DatasetSource(ABC):
    """Where a dataset came from: an URL, a storage URI, the code that built it..."""

    @staticmethod
    @abstractmethod
    def _get_source_type() -> str: ...

    @abstractmethod
    def load(self) -> Any:
        """The downloaded source (a local path for files)."""

    @staticmethod
    def _can_resolve(raw_source: Any) -> bool:
        return False

    @classmethod
    def _resolve(cls, raw_source: Any) -> DatasetSource:
        raise mlflow_exception(f"{cls.__name__} cannot resolve {raw_source!r}", INVALID_PARAMETER_VALUE)

    @abstractmethod
    def to_dict(self) -> dict[Any, Any]: ...

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    @abstractmethod
    def from_dict(cls, source_dict: dict[Any, Any]) -> DatasetSource: ...

    @classmethod
    def from_json(cls, source_json: str) -> DatasetSource:
        return cls.from_dict(json.loads(source_json))

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(self.to_json())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_json()})"


class HTTPDatasetSource(DatasetSource):
    """A dataset at an HTTP or HTTPS URL."""

    def __init__(self, url: str) -> None:
        self._url = url

    @property
    def url(self) -> str:
        return self._url

    @staticmethod
    def _get_source_type() -> str:
        return "http"

    def load(self, dst_path: str | None = None) -> str:
        """Download the URL into ``dst_path`` (a new temporary directory by default); returns the
        file's path, named by the Content-Disposition header or the URL's last path segment."""
        with urllib.request.urlopen(self.url) as response:
            basename = ""
            disposition = response.headers.get("Content-Disposition")
            if disposition:
                for match in re.finditer(r"filename=(.+)", disposition):
                    basename = match[1].strip("'\"")
                    if os.path.basename(basename) != basename:
                        raise mlflow_exception(
                            f"Invalid filename in Content-Disposition header: {basename}. "
                            "It must be a file name, not a path.",
                            INVALID_PARAMETER_VALUE,
                        )
                    break
            if not basename:
                basename = os.path.basename(urllib.parse.urlparse(self.url).path) or "dataset_source"
            directory = dst_path if dst_path is not None else tempfile.mkdtemp()
            os.makedirs(directory, exist_ok=True)
            path = os.path.join(directory, basename)
            with open(path, "wb") as out:
                shutil.copyfileobj(response, out, 1024 * 1024)
        return path

    @staticmethod
    def _can_resolve(raw_source: Any) -> bool:
        if not isinstance(raw_source, str):
            return False
        try:
            return urllib.parse.urlparse(raw_source).scheme in ("http", "https")
        except Exception:
            return False

    @classmethod
    def _resolve(cls, raw_source: Any) -> HTTPDatasetSource:
        return cls(raw_source)

    def to_dict(self) -> dict[Any, Any]:
        return {"url": self.url}

    @classmethod
    def from_dict(cls, source_dict: dict[Any, Any]) -> HTTPDatasetSource:
        url = source_dict.get("url")
        if url is None:
            raise mlflow_exception(
                'Failed to parse HTTPDatasetSource. Missing expected key: "url"', INVALID_PARAMETER_VALUE
            )
        return cls(url=url)


class CodeDatasetSource(DatasetSource):
    """The code that built the dataset, as run-context tags (``mlflow.source.name`` ...)."""

    def __init__(self, tags: dict[Any, Any]) -> None:
        self._tags = tags

    @staticmethod
    def _get_source_type() -> str:
        return "code"

    def load(self, **kwargs: Any) -> Any:
        # A dataset built in code has nothing to download (MLflow refuses this too).
        raise mlflow_exception("A dataset whose source is code cannot be loaded.", INVALID_PARAMETER_VALUE)

    def to_dict(self) -> dict[Any, Any]:
        return {"tags": self._tags}

    @classmethod
    def from_dict(cls, source_dict: dict[Any, Any]) -> CodeDatasetSource:
        return cls(tags=source_dict.get("tags"))  # type: ignore[arg-type]


class FileSystemDatasetSource(DatasetSource):
    """A dataset on a filesystem or in blob storage, named by a URI."""

    _source_type: ClassVar[str] = ""
    _scheme: ClassVar[str] = ""

    def __init__(self, uri: str) -> None:
        self._uri = uri

    @property
    def uri(self) -> str:
        return self._uri

    @classmethod
    def _get_source_type(cls) -> str:
        return cls._source_type

    def load(self, dst_path: str | None = None) -> str:
        """The source downloaded to ``dst_path`` (a local source without ``dst_path`` is
        returned as is)."""
        from genesis_flow.entrypoints.api.artifacts import download_artifacts

        if self._source_type == "local" and not dst_path:
            parsed = urllib.parse.urlparse(self.uri)
            local = urllib.request.url2pathname(parsed.path) if parsed.scheme == "file" else self.uri
            return os.path.abspath(local)
        return download_artifacts(artifact_uri=self.uri, dst_path=dst_path)

    @classmethod
    def _can_resolve(cls, raw_source: Any) -> bool:
        is_local = cls._source_type == "local"
        if not isinstance(raw_source, str) and (not isinstance(raw_source, Path) and is_local):
            return False
        try:
            if is_local:
                return _is_local_uri(str(raw_source))
            return urllib.parse.urlparse(str(raw_source)).scheme == cls._scheme
        except Exception:
            return False

    @classmethod
    def _resolve(cls, raw_source: Any) -> FileSystemDatasetSource:
        return cls(str(raw_source))

    def to_dict(self) -> dict[Any, Any]:
        return {"uri": self.uri}

    @classmethod
    def from_dict(cls, source_dict: dict[Any, Any]) -> FileSystemDatasetSource:
        uri = source_dict.get("uri")
        if uri is None:
            raise mlflow_exception(
                f'Failed to parse {cls.__name__}. Missing expected key: "uri"', INVALID_PARAMETER_VALUE
            )
        return cls(uri=uri)


def _is_local_uri(uri: str) -> bool:
    # MLflow's is_local_uri(uri, is_tracking_or_registry_uri=False)
    windows = os.name == "nt"
    if windows and uri.startswith("\\\\"):
        return False
    parsed = urllib.parse.urlparse(uri)
    if parsed.scheme == "":
        return True
    hostname = parsed.hostname
    remote = bool(hostname) and not (
        hostname == "." or hostname.startswith("localhost") or hostname.startswith("127.0.0.1")  # type: ignore[union-attr]
    )
    if parsed.scheme == "file":
        if remote:
            raise mlflow_exception(f"{uri} is not a valid remote uri.")
        return True
    if remote:
        return False
    return windows and len(parsed.scheme) == 1 and parsed.scheme.lower() == Path(uri).drive.lower()[:1]


def _filesystem_source(class_name: str, scheme: str, source_type: str) -> type[FileSystemDatasetSource]:
    doc = (
        "Represents the source of a dataset stored on the local filesystem."
        if source_type == "local"
        else "Represents a filesystem-based or blob-storage-based dataset source identified by a"
        f" URI with scheme '{scheme}'."
    )
    cls = type(
        class_name,
        (FileSystemDatasetSource,),
        {"_source_type": source_type, "_scheme": scheme, "__doc__": doc, "__module__": __name__},
    )
    return cls


LocalArtifactDatasetSource = _filesystem_source("LocalArtifactDatasetSource", "file", "local")
# In MLflow's registration order (the last source that resolves a raw source wins).
_FILESYSTEM_SOURCES: list[type[FileSystemDatasetSource]] = [
    LocalArtifactDatasetSource,
    *(
        _filesystem_source(name, scheme, scheme)
        for name, scheme in (
            ("S3ArtifactDatasetSource", "s3"),
            ("R2ArtifactDatasetSource", "r2"),
            ("B2ArtifactDatasetSource", "b2"),
            ("GCSArtifactDatasetSource", "gs"),
            ("AzureBlobArtifactDatasetSource", "wasbs"),
            ("FTPArtifactDatasetSource", "ftp"),
            ("SFTPArtifactDatasetSource", "sftp"),
            ("HdfsArtifactDatasetSource", "hdfs"),
            ("HdfsArtifactDatasetSource", "viewfs"),
            ("AzureDataLakeArtifactDatasetSource", "abfss"),
        )
    ),
]
_SOURCES: list[type[DatasetSource]] = [*_FILESYSTEM_SOURCES, HTTPDatasetSource, CodeDatasetSource]


def get_registered_sources() -> list[type[DatasetSource]]:
    """The source classes, in resolution order (later ones win)."""
    return list(_SOURCES)


def resolve_dataset_source(raw_source: Any) -> DatasetSource:
    """The source a raw source (a URI, a path) names, as MLflow's registry resolves it."""
    matching = []
    for source in _SOURCES:
        try:
            if source._can_resolve(raw_source):
                matching.append(source)
        except Exception:
            continue
    for source in reversed(matching):
        try:
            return source._resolve(raw_source)
        except Exception:
            continue
    raise mlflow_exception(
        f"Could not find a source information resolver for the specified dataset source: {raw_source}.",
        RESOURCE_DOES_NOT_EXIST,
    )


def get_dataset_source_from_json(source_json: str, source_type: str) -> DatasetSource:
    """The source a dataset entity's ``source`` JSON and ``source_type`` describe."""
    for source in reversed(_SOURCES):
        if source._get_source_type() == source_type:
            return source.from_json(source_json)
    raise mlflow_exception(
        f"Could not parse dataset source from JSON due to unrecognized source type: {source_type}.",
        RESOURCE_DOES_NOT_EXIST,
    )


def _code_source_tags() -> dict[str, Any]:
    tags: dict[str, Any] = dict(_context.system_tags())
    if _RUN_CONTEXT_ENV in os.environ:
        try:
            tags.update(json.loads(os.environ[_RUN_CONTEXT_ENV]))
        except Exception as e:
            _logger.warning("Encountered unexpected error during resolving tags: %s", e)
    return tags


def _resolve_source(source: Any) -> Any:
    if source is None:
        return CodeDatasetSource(tags=_code_source_tags())
    if isinstance(source, DatasetSource) or (
        hasattr(source, "to_json") and hasattr(source, "_get_source_type")  # e.g. mlflow's sources
    ):
        return source
    return resolve_dataset_source(source)


# --- datasets (mlflow.data.dataset, pandas_dataset, numpy_dataset) ---------------------------------


class Dataset(ABC):
    """A dataset for run inputs: name, digest (hash), source, schema and profile."""

    def __init__(self, source: Any, name: str | None = None, digest: str | None = None) -> None:
        self._name = name
        self._source = source
        self._digest = digest or self._compute_digest()

    @abstractmethod
    def _compute_digest(self) -> str: ...

    def to_dict(self) -> dict[str, Any]:
        """name, digest, source (JSON) and source_type; subclasses add schema and profile."""
        return {
            "name": self.name,
            "digest": self.digest,
            "source": self.source.to_json(),
            "source_type": self.source._get_source_type(),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    def _get_source_type(self) -> str:
        return str(self.source._get_source_type())

    @property
    def name(self) -> str:
        return self._name if self._name is not None else "dataset"

    @property
    def digest(self) -> str:
        return self._digest

    @property
    def source(self) -> Any:
        return self._source

    @property
    def profile(self) -> Any:
        return None

    @property
    def schema(self) -> Any:
        return None

    def _to_mlflow_entity(self) -> DatasetEntity:
        """The ``entities.Dataset`` that ``log_input`` records."""
        d = self.to_dict()
        return DatasetEntity(
            name=d["name"],
            digest=d["digest"],
            source_type=d["source_type"],
            source=d["source"],
            schema=d.get("schema"),
            profile=d.get("profile"),
        )


class PandasDataset(Dataset):
    """A pandas DataFrame, with optional target and prediction column names."""

    def __init__(
        self,
        df: Any,
        source: Any,
        targets: str | None = None,
        name: str | None = None,
        digest: str | None = None,
        predictions: str | None = None,
    ) -> None:
        if targets is not None and targets not in df.columns:
            raise mlflow_exception(
                f"The specified pandas DataFrame does not contain the specified targets column '{targets}'.",
                INVALID_PARAMETER_VALUE,
            )
        if predictions is not None and predictions not in df.columns:
            raise mlflow_exception(
                "The specified pandas DataFrame does not contain the specified predictions column"
                f" '{predictions}'.",
                INVALID_PARAMETER_VALUE,
            )
        self._df = df
        self._targets = targets
        self._predictions = predictions
        super().__init__(source=source, name=name, digest=digest)

    def _compute_digest(self) -> str:
        return compute_pandas_digest(self._df)

    def to_dict(self) -> dict[str, Any]:
        schema = json.dumps({"mlflow_colspec": self.schema.to_dict()}) if self.schema else None
        config = super().to_dict()
        config.update({"schema": schema, "profile": json.dumps(self.profile)})
        return config

    @property
    def df(self) -> Any:
        return self._df

    @property
    def targets(self) -> str | None:
        return self._targets

    @property
    def predictions(self) -> str | None:
        return self._predictions

    @property
    def profile(self) -> Any:
        return {"num_rows": len(self._df), "num_elements": int(self._df.size)}

    @cached_property
    def schema(self) -> Schema | None:
        try:
            return infer_pandas_schema(self._df)
        except Exception as e:
            _logger.debug("Failed to infer schema for Pandas dataset. Exception: %s", e)
            return None


class NumpyDataset(Dataset):
    """numpy features (an array or a dict of named arrays) and optional targets."""

    def __init__(
        self,
        features: Any,
        source: Any,
        targets: Any = None,
        name: str | None = None,
        digest: str | None = None,
    ) -> None:
        self._features = features
        self._targets = targets
        super().__init__(source=source, name=name, digest=digest)

    def _compute_digest(self) -> str:
        return compute_numpy_digest(self._features, self._targets)

    def to_dict(self) -> dict[str, Any]:
        schema = json.dumps(self.schema.to_dict()) if self.schema else None
        config = super().to_dict()
        config.update({"schema": schema, "profile": json.dumps(self.profile)})
        return config

    @property
    def features(self) -> Any:
        return self._features

    @property
    def targets(self) -> Any:
        return self._targets

    @property
    def profile(self) -> Any:
        def attribute(data: Any, name: str) -> Any:
            if isinstance(data, dict):
                return {key: getattr(array, name) for key, array in data.items()}
            return getattr(data, name)

        profile = {
            "features_shape": attribute(self._features, "shape"),
            "features_size": attribute(self._features, "size"),
            "features_nbytes": attribute(self._features, "nbytes"),
        }
        if self._targets is not None:
            profile.update(
                {
                    "targets_shape": attribute(self._targets, "shape"),
                    "targets_size": attribute(self._targets, "size"),
                    "targets_nbytes": attribute(self._targets, "nbytes"),
                }
            )
        return profile

    @cached_property
    def schema(self) -> TensorDatasetSchema | None:
        try:
            features = infer_tensor_schema(self._features)
            targets = infer_tensor_schema(self._targets) if self._targets is not None else None
            return TensorDatasetSchema(features=features, targets=targets)
        except Exception as e:
            _logger.warning("Failed to infer schema for NumPy dataset. Exception: %s", e)
            return None


def from_pandas(
    df: Any,
    source: Any = None,
    targets: str | None = None,
    name: str | None = None,
    digest: str | None = None,
    predictions: str | None = None,
) -> PandasDataset:
    """A ``PandasDataset`` of ``df``. ``source``: a URL, URI or path (or a ``DatasetSource``);
    when omitted, the code calling this (script, git commit) is the source."""
    return PandasDataset(
        df=df,
        source=_resolve_source(source),
        targets=targets,
        name=name,
        digest=digest,
        predictions=predictions,
    )


def from_numpy(
    features: Any,
    source: Any = None,
    targets: Any = None,
    name: str | None = None,
    digest: str | None = None,
) -> NumpyDataset:
    """A ``NumpyDataset`` of numpy features (an array or a dict of named arrays) and optional
    targets. ``source`` as for ``from_pandas``."""
    return NumpyDataset(
        features=features, source=_resolve_source(source), targets=targets, name=name, digest=digest
    )


def get_source(dataset: Any) -> Any:
    """The ``DatasetSource`` of a dataset, a dataset entity or a dataset input."""
    if isinstance(dataset, DatasetInput):
        dataset = dataset.dataset
    if isinstance(dataset, DatasetEntity):
        return get_dataset_source_from_json(dataset.source, dataset.source_type)
    if isinstance(dataset, Dataset):
        return dataset.source
    raise mlflow_exception(
        f"Unrecognized dataset type {type(dataset)}. Expected one of: `mlflow.data.dataset.Dataset`,"
        " `mlflow.entities.Dataset`, `mlflow.entities.DatasetInput`.",
        INVALID_PARAMETER_VALUE,
    )
