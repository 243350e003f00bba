"""The Mongo adapter's dataset documents stay within Cosmos DB's limits at MLflow's maximum sizes:
the dataset document under 2 MB, each out-of-line chunk under 1 MB (sizes as BSON, as stored)."""

from __future__ import annotations

import pytest

bson = pytest.importorskip("bson")

from genesis_flow.adapters.mongo import mapping as mongo_mapping  # noqa: E402
from genesis_flow.core.entities import Dataset  # noqa: E402
from genesis_flow.core.validation import (  # noqa: E402
    MAX_DATASET_PROFILE_SIZE,
    MAX_DATASET_SCHEMA_SIZE,
    MAX_DATASET_SOURCE_SIZE,
)


@pytest.mark.parametrize("char", ["a", "é", "日", "\U0001f600"], ids=["1-byte", "2-byte", "3-byte", "4-byte"])
def test_dataset_documents_of_maximum_size_fit_cosmos_db(char: str) -> None:
    dataset = Dataset(
        "n",
        "d",
        "s3",
        char * MAX_DATASET_SOURCE_SIZE,
        schema=char * MAX_DATASET_SCHEMA_SIZE,
        profile="p" * MAX_DATASET_PROFILE_SIZE,
    )
    values, chunks = mongo_mapping.dataset_values("id", dataset)
    assert len(bson.encode({"_id": "id", "name": "n", "digest": "d", **values})) < 2_000_000
    assert max(len(bson.encode(c)) for c in chunks) < 1_000_000
    whole = {
        field: "".join(c["v"] for c in chunks if c["_id"].startswith(f"id/{field}/"))
        for field in ("source", "schema", "profile")
    }
    assert whole == {"source": dataset.source, "schema": dataset.schema, "profile": dataset.profile}


def test_small_dataset_values_stay_inline() -> None:
    dataset = Dataset("n", "d", "s3", "s3://b/x", schema="{}", profile="p" * 400_000)
    values, chunks = mongo_mapping.dataset_values("id", dataset)
    assert chunks == []
    assert values == {"source": "s3://b/x", "schema": "{}", "profile": "p" * 400_000}
