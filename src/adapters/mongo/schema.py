"""The collections of a Genesis-Flow database on MongoDB (or Cosmos DB) and their indexes.

Each store module lists the fields of its documents; :mod:`.mapping` writes and reads them. The
indexes are created by :meth:`.database.MongoDatabase.ensure_indexes` (Cosmos DB's own rules in
:mod:`genesis_flow.adapters.cosmos.database`), and ``genesis doctor`` compares a database with
them.
"""

from __future__ import annotations

import pymongo

SCHEMA_VERSION = 1

ASC, DESC = pymongo.ASCENDING, pymongo.DESCENDING


class IndexSpec:
    """An index every database of ours has: keys, uniqueness, and a stable name."""

    def __init__(self, keys: list[tuple[str, int]], *, unique: bool = False, name: str) -> None:
        self.keys = keys
        self.unique = unique
        self.name = name


# One indexed query per API call: each search's filter prefix and default sort has an index here.
INDEXES: dict[str, list[IndexSpec]] = {
    "experiments": [
        IndexSpec([("name", ASC)], unique=True, name="gf_name"),
    ],
    "runs": [
        IndexSpec([("x", ASC), ("l", ASC), ("t0", DESC), ("_id", ASC)], name="gf_exp_start"),
    ],
    "metrics": [
        IndexSpec(
            [("r", ASC), ("k", ASC), ("t", ASC), ("s", ASC), ("v", ASC), ("nan", ASC)], name="gf_history"
        ),
    ],
    "run_values": [
        IndexSpec([("k", ASC), ("n", ASC), ("x", ASC)], name="gf_key"),
        IndexSpec([("r", ASC)], name="gf_run"),
    ],
    "datasets": [
        IndexSpec([("x", ASC), ("name", ASC), ("digest", ASC)], unique=True, name="gf_exp_dataset"),
    ],
    # Chunks of long dataset values, read by their computed ids only.
    "dataset_values": [],
    "logged_models": [
        IndexSpec([("x", ASC), ("l", ASC), ("ct", DESC)], name="gf_exp_created"),
    ],
    "registered_models": [
        IndexSpec([("name", ASC)], unique=True, name="gf_name"),
        # Renames and deletions in progress (few, usually none), found by every search.
        IndexSpec([("pd.s", ASC)], name="gf_pending"),
    ],
    "model_versions": [
        IndexSpec([("mid", ASC), ("v", ASC)], unique=True, name="gf_model_version"),
        IndexSpec([("ut", DESC), ("n", ASC), ("v", DESC)], name="gf_updated"),
    ],
    "traces": [
        IndexSpec([("x", ASC), ("ts", DESC), ("_id", ASC)], name="gf_exp_time"),
    ],
    "spans": [
        IndexSpec([("tr", ASC)], name="gf_trace"),
    ],
}
COLLECTIONS = (*INDEXES, "counters", "meta")
