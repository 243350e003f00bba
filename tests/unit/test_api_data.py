"""`genesis_flow.data`: datasets whose logged digest, schema, profile and source equal MLflow's."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import genesis_flow
import genesis_flow.data as gdata
from genesis_flow.entrypoints import bootstrap
from genesis_flow.entrypoints.api import config, fluent, state
from genesis_flow.entrypoints.api import data as impl
from genesis_flow.exceptions import MlflowException

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")

pytestmark = pytest.mark.filterwarnings("ignore")  # mlflow's hints and pandas deprecations

URL = "https://example.com/data/train.csv"
FIELDS = ("name", "digest", "source_type", "source", "schema", "profile")


def _mlflow_data() -> Any:
    return pytest.importorskip("mlflow.data")


def _frames() -> dict[str, Callable[[], Any]]:
    rng = np.random.default_rng(7)
    return {
        "ints": lambda: pd.DataFrame(
            {"a": [1, 2, 3], "b": np.array([4, 5, 6], dtype="int32"), "y": [0, 1, 0]}
        ),
        "floats": lambda: pd.DataFrame({"a": [1.0, 2.5], "b": np.array([1, 2], dtype="float32")}),
        "strings": lambda: pd.DataFrame({"s": ["x", "y"], "o": pd.Series(["a", "b"], dtype=object)}),
        "bools": lambda: pd.DataFrame({"b": [True, False], "o": pd.Series([True, None], dtype=object)}),
        "nan": lambda: pd.DataFrame({"f": [1.0, np.nan], "s": ["a", None], "n": [None, None]}),
        "mixed": lambda: pd.DataFrame({"m": [1, "a", 2.5]}),
        "empty": lambda: pd.DataFrame(),
        "empty_columns": lambda: pd.DataFrame({"a": [], "b": pd.Series([], dtype=object)}),
        "datetimes": lambda: pd.DataFrame(
            {
                "d": pd.date_range("2020-01-01", periods=2),
                "tz": pd.date_range("2020-01-01", periods=2, tz="UTC"),
                "date": [dt.date(2020, 1, 1), dt.date(2020, 1, 2)],
            }
        ),
        "timedelta": lambda: pd.DataFrame({"td": pd.to_timedelta([1, 2], unit="s")}),
        "bytes": lambda: pd.DataFrame({"b": [b"a", b"bc"]}),
        "nested": lambda: pd.DataFrame(
            {
                "l": [[1, 2], [3]],
                "d": [{"a": 1}, {"a": 2, "b": "x"}],
                "ls": [["a"], None],
            }
        ),
        "extension": lambda: pd.DataFrame(
            {
                "i": pd.array([1, None], dtype="Int64"),
                "b": pd.array([True, None], dtype="boolean"),
                "c": pd.Categorical(["a", None]),
                "u8": np.array([1, 2], dtype="uint8"),
            }
        ),
        "uint64": lambda: pd.DataFrame({"u": np.array([1, 2], dtype="uint64")}),
        "int_labels": lambda: pd.DataFrame(np.arange(6).reshape(3, 2)),
        "duplicate_labels": lambda: pd.DataFrame([[1, 2]], columns=["a", "a"]),
        "20k_rows": lambda: pd.DataFrame(
            {
                "x": rng.normal(size=20_000),
                "k": rng.integers(0, 5, size=20_000),
                "s": [f"s{i}" for i in range(20_000)],
            }
        ),
    }


FRAMES = _frames()


def _assert_same(ours: Any, theirs: Any) -> None:
    ours_entity, their_entity = ours._to_mlflow_entity(), theirs._to_mlflow_entity()
    for field in FIELDS:
        assert getattr(ours_entity, field) == getattr(their_entity, field), field
    assert ours.to_dict() == theirs.to_dict()


@pytest.mark.parametrize("case", sorted(FRAMES))
def test_from_pandas_matches_mlflow(case: str) -> None:
    mdata = _mlflow_data()
    df = FRAMES[case]()
    targets = "k" if case == "20k_rows" else ("y" if case == "ints" else None)
    ours = gdata.from_pandas(df, source=URL, targets=targets, name="train-data")
    theirs = mdata.from_pandas(df, source=URL, targets=targets, name="train-data")
    _assert_same(ours, theirs)
    assert ours.targets == targets
    assert ours.df is df
    assert ours.profile == theirs.profile


def test_the_digest_hashes_only_the_first_10000_rows_but_counts_all() -> None:
    df = FRAMES["20k_rows"]()
    changed_tail = df.copy()
    changed_tail.loc[15_000, "x"] = 99.0
    assert gdata.from_pandas(df, source=URL).digest == gdata.from_pandas(changed_tail, source=URL).digest
    assert gdata.from_pandas(df, source=URL).digest != gdata.from_pandas(df.head(19_999), source=URL).digest


def _arrays() -> dict[str, Callable[[], tuple[Any, Any]]]:
    rng = np.random.default_rng(3)
    return {
        "1d": lambda: (np.arange(5), None),
        "2d_targets": lambda: (rng.normal(size=(4, 3)).astype("float32"), np.array([0, 1, 0, 1])),
        "3d": lambda: (rng.uniform(size=[2, 5, 4]), rng.integers(2, size=[2])),
        "big": lambda: (rng.normal(size=(30_000, 2)), rng.integers(0, 2, size=30_000)),
        "strings_bytes": lambda: (np.array(["a", "bb"]), np.array([b"x", b"y"])),
        "object": lambda: (np.array([1, "a"], dtype=object), None),
        "dict": lambda: (
            {"f2": np.zeros((2, 3)), "f1": np.ones(2, dtype="int32")},
            {"t": np.array([1, 2])},
        ),
        "0d": lambda: (np.array(5), None),
        "datetime_bool": lambda: (np.array(["2020-01-01"], dtype="datetime64[ns]"), np.array([True])),
    }


ARRAYS = _arrays()


@pytest.mark.parametrize("case", sorted(ARRAYS))
def test_from_numpy_matches_mlflow(case: str) -> None:
    mdata = _mlflow_data()
    features, targets = ARRAYS[case]()
    ours = gdata.from_numpy(features, source=URL, targets=targets, name="arrays")
    theirs = mdata.from_numpy(features, source=URL, targets=targets, name="arrays")
    _assert_same(ours, theirs)
    assert ours.features is features
    assert ours.targets is targets


@pytest.mark.parametrize(
    "source",
    [
        URL,
        "http://localhost:8000/x.parquet",
        "/tmp/data/x.csv",
        "relative/x.csv",
        "file:///tmp/x.csv",
        Path("/tmp/data/x.csv"),
        "s3://bucket/key.csv",
        "gs://bucket/key",
        "wasbs://container@account.blob.core.windows.net/x",
        "abfss://container@account.dfs.core.windows.net/x",
        "hdfs://host/x",
        "viewfs://host/x",
        "ftp://host/x",
        "sftp://host/x",
    ],
)
def test_sources_resolve_as_mlflow_resolves_them(source: Any) -> None:
    mdata = _mlflow_data()
    df = pd.DataFrame({"a": [1]})
    ours, theirs = gdata.from_pandas(df, source=source), mdata.from_pandas(df, source=source)
    _assert_same(ours, theirs)
    assert type(ours.source).__name__ == type(theirs.source).__name__
    if hasattr(theirs.source, "url"):
        assert ours.source.url == theirs.source.url
    else:
        assert ours.source.uri == theirs.source.uri


@pytest.mark.parametrize("source", ["runs:/abc/x", "models:/m/1", "dbfs:/x", "foo://bar/x"])
def test_unresolvable_sources_raise_like_mlflow(source: str) -> None:
    mdata = _mlflow_data()
    df = pd.DataFrame({"a": [1]})
    with pytest.raises(MlflowException, match="Could not find a source information resolver") as caught:
        gdata.from_pandas(df, source=source)
    assert caught.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(Exception, match="Could not find a source information resolver"):
        mdata.from_pandas(df, source=source)


def test_no_source_is_the_calling_code_as_mlflow_records_it(tmp_path: Path) -> None:
    _mlflow_data()
    # A script of its own (outside any git checkout): MLflow caches the git context per process.
    script = tmp_path / "train.py"
    script.write_text(
        textwrap.dedent("""
            import warnings
            warnings.simplefilter("ignore")
            import numpy as np, pandas as pd
            import mlflow.data
            import genesis_flow.data as gdata
            df, features = pd.DataFrame({"a": [1.5]}), np.arange(3)
            for ours, theirs in [
                (gdata.from_pandas(df), mlflow.data.from_pandas(df)),
                (gdata.from_numpy(features), mlflow.data.from_numpy(features)),
            ]:
                assert ours.to_dict() == theirs.to_dict(), (ours.to_dict(), theirs.to_dict())
                assert ours.source._get_source_type() == "code"
            print(ours.source.to_json())
        """)
    )
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_RUN_CONTEXT"}
    env["MLFLOW_RUN_CONTEXT"] = '{"team": "ml"}'
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert f'"mlflow.source.name": "{script}"' in done.stdout
    assert '"team": "ml"' in done.stdout


def test_a_given_digest_and_a_given_source_object_are_kept() -> None:
    source = impl.HTTPDatasetSource(URL)
    dataset = gdata.from_pandas(pd.DataFrame({"a": [1]}), source=source, digest="abc123")
    assert dataset.digest == "abc123"
    assert dataset.source is source
    assert dataset.name == "dataset"


def test_missing_target_or_prediction_column_is_invalid() -> None:
    df = pd.DataFrame({"a": [1]})
    for kwargs in ({"targets": "y"}, {"predictions": "p"}):
        with pytest.raises(MlflowException, match="does not contain the specified") as caught:
            gdata.from_pandas(df, source=URL, **kwargs)
        assert caught.value.error_code == "INVALID_PARAMETER_VALUE"
    assert (
        gdata.from_pandas(pd.DataFrame({"a": [1], "p": [2]}), source=URL, predictions="p").predictions == "p"
    )


def test_get_source_reads_back_the_source_of_an_entity_or_input() -> None:
    dataset = gdata.from_pandas(pd.DataFrame({"a": [1]}), source="s3://bucket/key")
    entity = dataset._to_mlflow_entity()
    source = gdata.get_source(entity)
    assert source._get_source_type() == "s3"
    assert source.uri == "s3://bucket/key"
    assert gdata.get_source(gdata.DatasetInput(entity, [])) == source
    assert gdata.get_source(dataset) is dataset.source
    assert gdata.get_dataset_source_from_json(json.dumps({"url": URL}), "http").to_dict() == {"url": URL}
    with pytest.raises(MlflowException, match="Unrecognized dataset type"):
        gdata.get_source("nope")


def test_local_source_loads_as_its_own_path(tmp_path: Path) -> None:
    csv = tmp_path / "x.csv"
    csv.write_text("a\n1\n")
    source = gdata.from_pandas(pd.DataFrame({"a": [1]}), source=str(csv)).source
    assert source._get_source_type() == "local"
    assert source.load() == str(csv)


def test_importing_the_package_loads_neither_pandas_nor_numpy_nor_mlflow() -> None:
    code = """
        import sys
        import genesis_flow as mlflow
        import genesis_flow.data
        from genesis_flow.data.pandas_dataset import PandasDataset
        assert mlflow.data.from_pandas is genesis_flow.data.from_pandas
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("pandas", "numpy", "mlflow"))
        print(",".join(heavy) or "none")
    """
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "none"


def _reset_fluent_state() -> None:
    state.reset()
    config.reset()
    config.forget_stores()
    bootstrap.reset_memory_stores()


@pytest.fixture
def memory_tracking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A fresh in-memory store; no URI, experiment or run leaks in or out."""
    for prefix in ("MLFLOW_", "GENESIS_"):
        for name in ("TRACKING_URI", "REGISTRY_URI", "EXPERIMENT_NAME", "EXPERIMENT_ID", "RUN_ID"):
            monkeypatch.delenv(prefix + name, raising=False)
    monkeypatch.chdir(tmp_path)
    _reset_fluent_state()
    genesis_flow.set_tracking_uri("memory:")
    yield
    with contextlib.suppress(Exception):
        while fluent.active_run() is not None:
            fluent.end_run()
    _reset_fluent_state()
    for prefix in ("MLFLOW_", "GENESIS_"):
        os.environ.pop(prefix + "TRACKING_URI", None)


@pytest.mark.usefixtures("memory_tracking")
def test_log_input_records_what_mlflow_records() -> None:
    mdata = _mlflow_data()
    df = FRAMES["nan"]()
    with genesis_flow.start_run() as run:
        genesis_flow.log_input(
            gdata.from_pandas(df, source=URL, name="n", targets="f"),
            context="training",
            tags={"split": "train"},
        )
    inputs = genesis_flow.get_run(run.info.run_id).inputs.dataset_inputs
    assert len(inputs) == 1
    logged = inputs[0].dataset
    expected = mdata.from_pandas(df, source=URL, name="n", targets="f")._to_mlflow_entity()
    for field in FIELDS:
        assert getattr(logged, field) == getattr(expected, field), field
    assert {tag.key: tag.value for tag in inputs[0].tags} == {
        "split": "train",
        "mlflow.data.context": "training",
    }


def test_http_source_downloads_the_url(tmp_path: Path) -> None:
    import functools
    import http.server
    import threading

    served = tmp_path / "served"
    served.mkdir()
    (served / "train.csv").write_text("a\n1\n")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/train.csv"
        source = gdata.from_pandas(pd.DataFrame({"a": [1]}), source=url).source
        path = source.load(dst_path=str(tmp_path / "out"))
    finally:
        server.shutdown()
        server.server_close()
    assert path == str(tmp_path / "out" / "train.csv")
    assert Path(path).read_text() == "a\n1\n"
