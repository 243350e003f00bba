"""What ``log_text``, ``log_dict``, ``log_table``, ``log_image`` and ``log_figure`` write: MLflow's
file formats for text, dictionaries, tables, images and figures, made here and written through the
artifact port's ``log_stream``.

Presentation belongs to the API, not to storage: the artifact stores only store bytes, and the
optional libraries (PyYAML, numpy, Pillow, matplotlib, plotly, pandas) are touched only here, when
their kind of object is logged.
"""

from __future__ import annotations

import io
import json
import math
import posixpath
from typing import TYPE_CHECKING, Any

from genesis_flow.core.errors import InvalidParameterValue, ResourceDoesNotExist

if TYPE_CHECKING:
    from genesis_flow.ports import ArtifactStore

_COMPRESSED_IMAGE_SIZE = 256  # the longer side of an image series' thumbnail, as in MLflow
_IMAGE_FORMATS = {
    "png": "PNG",
    "jpg": "JPEG",
    "jpeg": "JPEG",
    "gif": "GIF",
    "bmp": "BMP",
    "tiff": "TIFF",
    "webp": "WEBP",
}


def log_text(store: ArtifactStore, text: str, artifact_file: str) -> None:
    """Write ``text`` as UTF-8."""
    store.log_stream(io.BytesIO(text.encode("utf-8")), artifact_file)


def log_dict(store: ArtifactStore, dictionary: Any, artifact_file: str) -> None:
    """Write a JSON-serialisable object as JSON, or as YAML when the file name ends in
    ``.yaml``/``.yml``, as MLflow does."""
    extension = posixpath.splitext(artifact_file)[1].lower()
    if extension in (".yaml", ".yml"):
        import yaml  # type: ignore[import-untyped]  # a base dependency, imported when first needed

        text = yaml.safe_dump(dictionary, default_flow_style=False)
    else:
        # MLflow writes JSON for every other extension, indented.
        text = json.dumps(dictionary, indent=2)
    log_text(store, text, artifact_file)


def log_table(store: ArtifactStore, data: Any, artifact_file: str) -> None:
    """Write a table (a dict of equal-length columns, or a pandas DataFrame) in MLflow's JSON
    table format (``{"columns": [...], "data": [[...], ...]}``); the file must end in ``.json``.
    As in MLflow, logging to an existing table appends the rows (columns united, gaps null)."""
    if not artifact_file.endswith(".json"):
        raise InvalidParameterValue(f"Table artifacts must be .json files, got {artifact_file!r}")
    if hasattr(data, "to_dict") and hasattr(data, "columns"):  # a pandas DataFrame
        columns = [str(c) for c in data.columns]
        rows = data.values.tolist()
    elif isinstance(data, dict):
        columns = [str(c) for c in data]
        lengths = {len(v) for v in data.values()}
        if len(lengths) > 1:
            raise InvalidParameterValue("Table columns must all have the same length")
        rows = [list(row) for row in zip(*data.values(), strict=True)]
    else:
        raise InvalidParameterValue("A table is a dict of equal-length columns or a pandas DataFrame")
    old = _existing_table(store, artifact_file)
    if old is not None:
        merged = list(old.get("columns", [])) + [c for c in columns if c not in old.get("columns", [])]

        def aligned(cols: list[str], row: list[Any]) -> list[Any]:
            values = dict(zip(cols, row, strict=False))
            return [values.get(c) for c in merged]

        rows = [aligned(old.get("columns", []), r) for r in old.get("data", [])] + [
            aligned(columns, r) for r in rows
        ]
        columns = merged
    log_text(store, _table_json(columns, rows), artifact_file)


def _existing_table(store: ArtifactStore, artifact_file: str) -> Any:
    """The table already stored at ``artifact_file``, or None when no file is there."""
    try:
        stream = store.open_artifact(artifact_file)
    except ResourceDoesNotExist:
        return None
    with stream:
        try:
            table = json.load(stream)
        except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError included
            table = None
    # Appending needs the stored file to be one of ours: a table of columns and rows.
    if not (
        isinstance(table, dict)
        and isinstance(table.get("columns", []), list)
        and all(isinstance(c, str) for c in table.get("columns", []))
        and isinstance(table.get("data", []), list)
        and all(isinstance(row, list) for row in table.get("data", []))
    ):
        raise InvalidParameterValue(
            f"Cannot append to {artifact_file!r}: the stored file is not a table logged by log_table"
        )
    return table


def _table_json(columns: list[str], rows: list[list[Any]]) -> str:
    """The bytes pandas' ``to_json(orient="split")`` writes, as MLflow logs tables: compact,
    NaN as null, and "/" escaped as "\\/"."""
    clean = [[None if isinstance(v, float) and math.isnan(v) else v for v in row] for row in rows]
    text = json.dumps({"columns": columns, "data": clean}, default=str, separators=(",", ":"))
    return text.replace("/", "\\/")  # only inside strings: JSON has no "/" elsewhere


def log_image(store: ArtifactStore, image: Any, artifact_file: str) -> None:
    """Write a PIL image, or a numpy array MLflow accepts, as an image file (needs Pillow)."""
    Image = _pil()
    if not isinstance(image, Image.Image):
        image = Image.fromarray(_as_uint8(image))  # a numpy array, as MLflow accepts
    buffer = io.BytesIO()
    image.save(buffer, format=_image_format(artifact_file))
    buffer.seek(0)
    store.log_stream(buffer, artifact_file)


def log_image_step(store: ArtifactStore, image: Any, base: str) -> None:
    """One step of an image series as MLflow's UI reads it: ``<base>.png`` and a thumbnail
    ``<base>+compressed.webp`` (the longer side 256 pixels)."""
    log_image(store, image, base + ".png")
    # The thumbnail is made from what was written, so both files show the same picture.
    with store.open_artifact(base + ".png") as stream, _pil().open(stream) as written:
        width, height = written.size
        if width > height:
            size = (_COMPRESSED_IMAGE_SIZE, int(height * (_COMPRESSED_IMAGE_SIZE / width)))
        else:
            size = (int(width * (_COMPRESSED_IMAGE_SIZE / height)), _COMPRESSED_IMAGE_SIZE)
        log_image(store, written.resize(size), base + "+compressed.webp")


def _pil() -> Any:
    try:
        from PIL import Image
    except ImportError:
        raise InvalidParameterValue("Logging images needs Pillow (pip install pillow)") from None
    return Image


def _as_uint8(array: Any) -> Any:
    """MLflow's rule for image arrays: floats must lie in [0, 1] and are scaled to 0..255,
    integers must lie in 0..255; both become uint8."""
    import numpy as np

    values = np.asarray(array)
    if values.dtype.kind == "f":
        if values.size and (np.nanmin(values) < 0 or np.nanmax(values) > 1):
            raise InvalidParameterValue("Float image arrays must have values in [0, 1]")
        return (values * 255).round().astype(np.uint8)
    if values.dtype.kind in "iu":
        if values.size and (values.min() < 0 or values.max() > 255):
            raise InvalidParameterValue("Integer image arrays must have values in [0, 255]")
        return values.astype(np.uint8)
    if values.dtype.kind == "b":
        return values.astype(np.uint8) * 255
    raise InvalidParameterValue(f"Unsupported image array type {values.dtype}")


def _image_format(artifact_file: str) -> str:
    extension = posixpath.splitext(artifact_file)[1].lower().lstrip(".")
    if extension not in _IMAGE_FORMATS:
        raise InvalidParameterValue(
            f"Unsupported image file extension {extension!r}; use one of {sorted(_IMAGE_FORMATS)}"
        )
    return _IMAGE_FORMATS[extension]


def log_figure(store: ArtifactStore, figure: Any, artifact_file: str) -> None:
    """Write a matplotlib (``savefig``) or plotly (``write_html``/``write_image``) figure."""
    buffer = io.BytesIO()
    if hasattr(figure, "savefig"):  # matplotlib
        figure.savefig(buffer, format=posixpath.splitext(artifact_file)[1].lstrip(".") or "png")
    elif hasattr(figure, "write_html") and artifact_file.endswith(".html"):  # plotly
        buffer.write(figure.to_html().encode("utf-8"))
    elif hasattr(figure, "to_image"):  # plotly, static
        buffer.write(figure.to_image(format=posixpath.splitext(artifact_file)[1].lstrip(".") or "png"))
    else:
        raise InvalidParameterValue(f"Cannot log a figure of type {type(figure).__name__}")
    buffer.seek(0)
    store.log_stream(buffer, artifact_file)
