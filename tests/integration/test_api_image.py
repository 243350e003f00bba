"""``genesis_flow.Image`` (MLflow's ``mlflow.Image``) and ``log_image`` taking it: the same pixels
as mlflow 3.17.2's Image for every input it accepts, a domain error for what it refuses."""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

import genesis_flow
from genesis_flow import MlflowClient
from genesis_flow.core.errors import InvalidParameterValue
from genesis_flow.entrypoints.api.presentation import Image
from tests.integration.api_state import clean_state  # noqa: F401 - autouse fixture

np = pytest.importorskip("numpy")
PIL = pytest.importorskip("PIL.Image")


def _mlflow_image() -> Any:
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    return pytest.importorskip("mlflow", reason="compares with the dev extra's mlflow").Image


PIXELS: dict[str, Any] = {
    "uint8 rgb": np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3),
    "int grey": np.array([[0, 128], [255, 7]]),
    "one channel": np.array([[[10], [20]], [[30], [40]]], dtype=np.uint8),
    "rgba": np.full((2, 2, 4), 200, dtype=np.uint8),
    "floats in 0..1": np.array([[0.0, 0.5], [0.999, 1.0]]),
    "floats out of 0..1": np.array([[-1.0, 0.0], [1.0, 3.0]]),
    "bools": np.array([[True, False], [False, True]]),
    "nested list": [[[255, 0, 0], [0, 255, 0]]],
}


def _rescaled(caught: list[warnings.WarningMessage]) -> bool:
    return any(w.category is UserWarning and "scal" in str(w.message) for w in caught)


@pytest.mark.parametrize("name", PIXELS)
def test_image_has_mlflows_pixels(name: str) -> None:
    theirs_class = _mlflow_image()
    with warnings.catch_warnings(record=True) as ours_warned:
        warnings.simplefilter("always")
        ours = Image(PIXELS[name])
    with warnings.catch_warnings(record=True) as theirs_warned:
        warnings.simplefilter("always")
        theirs = theirs_class(PIXELS[name])
    assert ours.size == theirs.size
    assert ours.to_pil().mode == theirs.to_pil().mode
    assert (ours.to_array() == theirs.to_array()).all()
    assert ours.to_list() == theirs.to_list()
    # A rescale is said, as MLflow says it.
    assert _rescaled(ours_warned) == _rescaled(theirs_warned)


@pytest.mark.parametrize(
    "pixels",
    [
        np.zeros(4, dtype=np.uint8),  # 1-D
        np.zeros((2, 2, 2), dtype=np.uint8),  # two channels
        np.array([[0, 256]]),  # past 255
        np.array([["a", "b"]]),  # not numbers
        3.5,  # not an image
        np.zeros((0, 0)),  # no pixels
        np.zeros((0, 5, 3)),  # no rows
        [[1, 2], [3]],  # ragged rows
    ],
)
def test_image_refuses_what_mlflow_refuses_with_a_domain_error(pixels: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        _mlflow_image()(pixels)
    with pytest.raises(InvalidParameterValue):
        Image(pixels)


def test_image_from_a_pil_image_or_a_file_saves_and_resizes(tmp_path: Path) -> None:
    original = PIL.new("RGB", (6, 4), (1, 2, 3))
    assert Image(original).to_pil() is original
    Image(original).save(str(tmp_path / "a.png"))
    from_file = Image(str(tmp_path / "a.png"))
    assert from_file.size == (6, 4) and from_file.to_list()[0] == (1, 2, 3)
    smaller = from_file.resize((3, 2))
    assert isinstance(smaller, Image) and smaller.size == (3, 2) and from_file.size == (6, 4)
    with pytest.raises(InvalidParameterValue, match=r"missing\.png"):
        Image(str(tmp_path / "missing.png"))


def test_log_image_takes_an_image_for_a_file_and_for_a_series_step() -> None:
    genesis_flow.set_tracking_uri("memory:")
    image = genesis_flow.Image(np.full((3, 5, 3), 9, dtype=np.uint8))
    with genesis_flow.start_run() as run:
        genesis_flow.log_image(image, "pictures/one.png")
        genesis_flow.log_image(image, key="series", step=2)
    client = MlflowClient()
    assert [f.path for f in client.list_artifacts(run.info.run_id, "pictures")] == ["pictures/one.png"]
    series = sorted(f.path for f in client.list_artifacts(run.info.run_id, "images"))
    assert len(series) == 2 and all(p.startswith("images/series+step+2+timestamp+") for p in series)
    assert series[0].endswith("+compressed.webp") and series[1].endswith(".png")
    assert client.get_run(run.info.run_id).data.tags["mlflow.loggedImages"] == "True"


def test_without_pillow_an_image_fails_in_one_line_naming_the_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(InvalidParameterValue) as caught:
        Image(np.zeros((2, 2), dtype=np.uint8))
    assert "pip install pillow" in str(caught.value) and "\n" not in str(caught.value)
