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
import warnings
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
    """Write a PIL image, an :class:`Image` or a numpy array MLflow accepts, as an image file
    (needs Pillow)."""
    buffer = io.BytesIO()
    pil_image(image).save(buffer, format=_image_format(artifact_file))
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


class Image:
    """MLflow's ``mlflow.Image``: an image held as a PIL image, made from a numpy array (or a
    nested list of pixels), a PIL image or an image file's path; ``log_image`` takes it like a
    PIL image. Needs Pillow (and numpy for arrays and lists)."""

    def __init__(self, image: Any) -> None:
        pil = _pil()
        if isinstance(image, str):
            try:
                self.image = pil.open(image)
            except OSError as error:  # FileNotFoundError and PIL's UnidentifiedImageError included
                raise InvalidParameterValue(f"Cannot read an image from {image!r}: {error}") from None
        else:
            self.image = pil_image(image)
        self.size: tuple[int, int] = self.image.size

    def to_list(self) -> list[Any]:
        """The pixel values, row by row."""
        flattened = getattr(self.image, "get_flattened_data", None)  # Pillow 12 deprecates getdata
        return list(flattened() if flattened is not None else self.image.getdata())

    def to_array(self) -> Any:
        """The pixels as a numpy array."""
        import numpy as np

        return np.array(self.image)

    def to_pil(self) -> Any:
        return self.image

    def save(self, path: str) -> None:
        """Write the image to ``path``, in the format its extension names."""
        self.image.save(path)

    def resize(self, size: tuple[int, int]) -> Image:
        """A new Image of ``size`` (width, height); this one is unchanged."""
        return Image(self.image.resize(size))


def pil_image(image: Any) -> Any:
    """The PIL image of what ``log_image`` and :class:`Image` take: a PIL image, an
    :class:`Image`, or pixels (a numpy array or nested list) under MLflow's rules."""
    pil = _pil()
    if isinstance(image, pil.Image):
        return image
    if isinstance(image, Image):
        return image.to_pil()
    if isinstance(image, (list, tuple)) or hasattr(image, "__array_interface__"):
        return pil.fromarray(_as_uint8(image))
    raise InvalidParameterValue(
        f"Unsupported image object type: {type(image).__name__}. An image is a numpy array,"
        " a PIL image or an Image."
    )


def _pil() -> Any:
    try:
        from PIL import Image as pil
    except ImportError:
        raise InvalidParameterValue("Images need Pillow, not installed here: pip install pillow") from None
    return pil


def _as_uint8(array: Any) -> Any:
    """MLflow's rules for pixel arrays: 2-D, or 3-D with 1, 3 or 4 channels (one channel is
    flattened); integers must lie in 0..255; floats are scaled by 255 and truncated, after a
    min-max rescale (with a warning) when they leave [0, 1]; booleans are 0 or 255."""
    import numpy as np

    try:
        values = np.asarray(array)
    except ValueError as error:  # ragged nested lists
        raise InvalidParameterValue(f"Invalid image array: {error}") from None
    if values.dtype.kind not in "biuf":
        raise InvalidParameterValue(
            f"Invalid image array type {values.dtype}: must be boolean, integer or floating point"
        )
    if values.ndim not in (2, 3):
        raise InvalidParameterValue(f"An image array must be 2-D or 3-D, got shape {values.shape}")
    if values.ndim == 3:
        if values.shape[2] not in (1, 3, 4):
            raise InvalidParameterValue(
                f"Invalid channel length {values.shape[2]}: an image has 1, 3 or 4 channels"
            )
        if values.shape[2] == 1:
            values = values[:, :, 0]
    if not values.size:  # PIL would take it, and fail only when the image is written
        raise InvalidParameterValue(f"An image array must hold pixels, got shape {values.shape}")
    if values.dtype.kind in "iu":
        if values.min() < 0 or values.max() > 255:
            raise InvalidParameterValue(
                f"Integer pixel values must lie in [0, 255]; found {values.min()} to {values.max()}"
            )
        return values.astype(np.uint8)
    if values.dtype.kind == "f":
        low, high = float(np.nanmin(values)), float(np.nanmax(values))
        if low < 0 or high > 1:
            warnings.warn(
                f"Float pixel values out of [0.0, 1.0] (found {low} to {high}): rescaled to"
                " [0.0, 1.0] with a min-max scaler, as MLflow does.",
                stacklevel=2,
            )
            # One value throughout has no range to scale: black, where MLflow's division yields NaN.
            values = (values - low) / (high - low) if high > low else np.zeros_like(values)
    return (values * 255).astype(np.uint8)


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
