"""MLflow's file formats (log_text, log_dict, log_table, log_image, log_figure) written by the API
through the artifact port, on each of our artifact stores.

They are the API's (genesis_flow.entrypoints.api.presentation), not the port's, so they are not
in the contract kit; they run here on our artifact backends because a table is extended by
reading the stored one back, and every store must give the same files.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # a base dependency: a missing PyYAML must fail here

from genesis_flow.core.entities import FileInfo
from genesis_flow.core.errors import InvalidParameterValue
from genesis_flow.entrypoints.api import presentation
from genesis_flow.ports.artifacts import ArtifactStore
from genesis_flow.testing.contract.test_artifacts import HOSTILE, HOSTILE_IDS


def _read(store: ArtifactStore, path: str) -> bytes:
    with store.open_artifact(path) as stream:
        return stream.read()


def test_log_text_writes_utf8(artifacts: ArtifactStore) -> None:
    text = "h\u00e9llo \u2713 \u65e5\u672c\nsecond line\n"
    presentation.log_text(artifacts, text, "notes/readme.md")
    assert _read(artifacts, "notes/readme.md") == text.encode("utf-8")
    assert artifacts.list_artifacts("notes") == (FileInfo("notes/readme.md", False, len(text.encode())),)


DICT = {"lr": 0.01, "layers": [64, 32], "name": "r\u00e9seau", "nested": {"ok": True, "none": None}}


def test_log_dict_writes_json_and_yaml_by_extension(artifacts: ArtifactStore) -> None:
    presentation.log_dict(artifacts, DICT, "config/params.json")
    assert json.loads(_read(artifacts, "config/params.json")) == DICT
    presentation.log_dict(artifacts, DICT, "config/params.txt")  # any other extension is JSON, as in MLflow
    assert json.loads(_read(artifacts, "config/params.txt")) == DICT
    for name in ("config/params.yaml", "config/params.yml"):
        presentation.log_dict(artifacts, DICT, name)
        assert yaml.safe_load(_read(artifacts, name)) == DICT, name


def test_log_table_writes_mlflow_json_table_format(artifacts: ArtifactStore) -> None:
    presentation.log_table(artifacts, {"x": [1, 2], "y": ["a", "b"]}, "tables/t.json")
    assert json.loads(_read(artifacts, "tables/t.json")) == {
        "columns": ["x", "y"],
        "data": [[1, "a"], [2, "b"]],
    }


def test_log_table_appends_to_an_existing_table_as_mlflow_does(artifacts: ArtifactStore) -> None:
    presentation.log_table(artifacts, {"x": [1, 2], "y": ["a", "b"]}, "tables/t.json")
    presentation.log_table(artifacts, {"x": [3], "z": [True]}, "tables/t.json")
    # The bytes mlflow 3.17.2 writes for the same two calls: columns united, gaps null.
    assert _read(artifacts, "tables/t.json") == (
        b'{"columns":["x","y","z"],"data":[[1,"a",null],[2,"b",null],[3,null,true]]}'
    )


@pytest.mark.parametrize(
    "stored",
    [b"not json", b"\xff\xfe", b"[1, 2]", b'{"columns": [["x"]], "data": []}', b'{"data": [1]}'],
    ids=["text", "bytes", "list", "odd-columns", "odd-rows"],
)
def test_log_table_refuses_to_append_to_a_file_that_is_not_a_table(
    artifacts: ArtifactStore, stored: bytes
) -> None:
    artifacts.log_stream(io.BytesIO(stored), "tables/t.json")
    with pytest.raises(InvalidParameterValue, match="not a table"):
        presentation.log_table(artifacts, {"x": [1]}, "tables/t.json")
    assert _read(artifacts, "tables/t.json") == stored


def test_log_table_accepts_a_pandas_dataframe(artifacts: ArtifactStore) -> None:
    pandas = pytest.importorskip("pandas")
    presentation.log_table(artifacts, pandas.DataFrame({"x": [1, 2], "y": ["a", "b"]}), "df.json")
    assert json.loads(_read(artifacts, "df.json")) == {"columns": ["x", "y"], "data": [[1, "a"], [2, "b"]]}


def test_log_table_refuses_other_extensions_and_ragged_columns(artifacts: ArtifactStore) -> None:
    for name in ("table.csv", "table.json.txt", "table"):
        with pytest.raises(InvalidParameterValue) as raised:
            presentation.log_table(artifacts, {"x": [1]}, name)
        assert raised.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(InvalidParameterValue):
        presentation.log_table(artifacts, {"x": [1, 2], "y": [1]}, "ragged.json")
    assert artifacts.list_artifacts() == ()


def _open_image(store: ArtifactStore, path: str) -> Any:
    image_module = pytest.importorskip("PIL.Image")
    # Through a buffer: PIL seeks, and a store's stream need not be seekable.
    image = image_module.open(io.BytesIO(_read(store, path)))
    image.load()
    return image


def test_log_image_writes_a_pil_image(artifacts: ArtifactStore) -> None:
    image_module = pytest.importorskip("PIL.Image")
    image = image_module.new("RGB", (8, 4), (10, 20, 30))
    image.putpixel((3, 2), (255, 0, 128))
    presentation.log_image(artifacts, image, "images/pil.png")
    back = _open_image(artifacts, "images/pil.png")
    assert back.format == "PNG" and back.size == (8, 4) and back.mode == "RGB"
    assert back.tobytes() == image.tobytes()


def test_log_image_writes_numpy_arrays(artifacts: ArtifactStore) -> None:
    numpy = pytest.importorskip("numpy")
    rgb = numpy.arange(4 * 8 * 3, dtype=numpy.uint8).reshape(4, 8, 3)
    presentation.log_image(artifacts, rgb, "images/rgb.png")
    assert (numpy.asarray(_open_image(artifacts, "images/rgb.png")) == rgb).all()
    grey = numpy.arange(4 * 8, dtype=numpy.uint8).reshape(4, 8)
    presentation.log_image(artifacts, grey, "images/grey.png")
    assert (numpy.asarray(_open_image(artifacts, "images/grey.png")) == grey).all()


def test_log_image_accepts_float_arrays_in_0_1_as_mlflow_does(artifacts: ArtifactStore) -> None:
    numpy = pytest.importorskip("numpy")
    floats = numpy.array([[[0.0, 0.2, 1.0], [0.4, 0.6, 0.8]]])  # 1 x 2 RGB
    presentation.log_image(artifacts, floats, "images/floats.png")
    back = numpy.asarray(_open_image(artifacts, "images/floats.png")).astype(int)
    assert back.shape == (1, 2, 3)
    # MLflow scales by 255 and truncates; allow rounding either way.
    assert numpy.abs(back - floats * 255).max() <= 1


def test_log_image_refuses_an_unknown_extension(artifacts: ArtifactStore) -> None:
    image_module = pytest.importorskip("PIL.Image")
    with pytest.raises(InvalidParameterValue):
        presentation.log_image(artifacts, image_module.new("RGB", (1, 1)), "image.xyz")
    assert artifacts.list_artifacts() == ()


@pytest.mark.parametrize(("size", "thumbnail"), [((512, 128), (256, 64)), ((30, 60), (128, 256))])
def test_an_image_series_step_is_the_image_and_a_thumbnail_256_pixels_long(
    artifacts: ArtifactStore, size: tuple[int, int], thumbnail: tuple[int, int]
) -> None:
    image_module = pytest.importorskip("PIL.Image")
    presentation.log_image_step(artifacts, image_module.new("RGB", size, (1, 2, 3)), "images/k+step+0")
    assert [f.path for f in artifacts.list_artifacts("images")] == [
        "images/k+step+0+compressed.webp",
        "images/k+step+0.png",
    ]
    assert _open_image(artifacts, "images/k+step+0.png").size == size
    small = _open_image(artifacts, "images/k+step+0+compressed.webp")
    assert (small.format, small.size) == ("WEBP", thumbnail)


def _figure() -> Any:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(2, 1), dpi=50)
    figure.add_subplot().plot([0, 1, 2], [2, 0, 1])
    return figure


def test_log_figure_writes_a_matplotlib_figure_as_png(artifacts: ArtifactStore) -> None:
    presentation.log_figure(artifacts, _figure(), "plots/fig.png")
    back = _open_image(artifacts, "plots/fig.png")
    assert back.format == "PNG" and back.size == (100, 50)


def _image() -> Any:
    return pytest.importorskip("PIL.Image").new("RGB", (1, 1))


# Each takes (store, hostile path) and writes to the hostile path. Formats whose file name must end
# in an extension write to a file below it ("../t.json"): appended to the path itself the
# extension could make a plain name of it ("..json").
WRITES: dict[str, Callable[[ArtifactStore, str], None]] = {
    "log_text": lambda s, p: presentation.log_text(s, "x", p),
    "log_dict": lambda s, p: presentation.log_dict(s, {"a": 1}, p),
    "log_dict_yaml": lambda s, p: presentation.log_dict(s, {"a": 1}, p + "/t.yaml"),
    "log_table": lambda s, p: presentation.log_table(s, {"a": [1]}, p + "/t.json"),
    "log_image": lambda s, p: presentation.log_image(s, _image(), p + "/t.png"),
    "log_figure": lambda s, p: presentation.log_figure(s, _figure(), p + "/t.png"),
}


@pytest.mark.parametrize("write", sorted(WRITES))
@pytest.mark.parametrize("hostile", HOSTILE, ids=HOSTILE_IDS)
def test_hostile_paths_are_refused_by_every_format_and_nothing_is_written(
    artifacts: ArtifactStore, write: str, hostile: str
) -> None:
    with pytest.raises(InvalidParameterValue) as raised:
        WRITES[write](artifacts, hostile)
    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"
    assert artifacts.list_artifacts() == ()
