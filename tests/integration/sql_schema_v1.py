"""The SQL schema at version 1, frozen: what the first release created.

Tests build a version 1 database from this copy and upgrade it (tests/integration/
test_sql_schema.py); the adapter's own schema module describes the newest version only. Never edit
this copy: it stands for databases that exist.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

KEY = 250  # MLflow's entity key limit (params, tags, metrics)
ID = 256  # ids are ours (32 hex) unless imported; model ids in links come from users
NAME = 500

# --- bookkeeping -----------------------------------------------------------------------------------

genesis_schema = sa.Table(
    "genesis_schema",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)

counters = sa.Table(
    "counters",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)

# --- tracking --------------------------------------------------------------------------------------

experiments = sa.Table(
    "experiments",
    metadata,
    sa.Column("experiment_id", sa.String(ID), primary_key=True),
    sa.Column("id_order", sa.BigInteger, nullable=True),
    sa.Column("name", sa.String(NAME), nullable=False, unique=True),
    sa.Column("artifact_location", sa.Text, nullable=False),
    sa.Column("lifecycle_stage", sa.String(16), nullable=False),
    sa.Column("creation_time", sa.BigInteger, nullable=True),
    sa.Column("last_update_time", sa.BigInteger, nullable=True),
    sa.Index("ix_experiments_creation", "creation_time"),
)

experiment_tags = sa.Table(
    "experiment_tags",
    metadata,
    sa.Column("experiment_id", sa.String(ID), sa.ForeignKey("experiments.experiment_id"), primary_key=True),
    sa.Column("key", sa.String(KEY), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("run_id", sa.String(ID), primary_key=True),
    sa.Column("experiment_id", sa.String(ID), sa.ForeignKey("experiments.experiment_id"), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("user_id", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("start_time", sa.BigInteger, nullable=True),
    sa.Column("end_time", sa.BigInteger, nullable=True),
    sa.Column("artifact_uri", sa.Text, nullable=False),
    sa.Column("lifecycle_stage", sa.String(16), nullable=False),
    # When the run was deleted (for `genesis gc`); NULL while active.
    sa.Column("deleted_time", sa.BigInteger, nullable=True),
    # search_runs' default order within an experiment, and the view-type filter.
    sa.Index("ix_runs_experiment_start", "experiment_id", "lifecycle_stage", "start_time", "run_id"),
)

params = sa.Table(
    "params",
    metadata,
    sa.Column("run_id", sa.String(ID), sa.ForeignKey("runs.run_id"), primary_key=True),
    sa.Column("key", sa.String(KEY), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Index("ix_params_key", "key", "run_id"),
)

tags = sa.Table(
    "tags",
    metadata,
    sa.Column("run_id", sa.String(ID), sa.ForeignKey("runs.run_id"), primary_key=True),
    sa.Column("key", sa.String(KEY), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Index("ix_tags_key", "key", "run_id"),
)

# Every point ever logged. The primary key is a point's identity (key, timestamp, step, value,
# is_nan within a run), so a retried write stores nothing twice and the history of one metric is
# read in MLflow's order straight off the key.
metrics = sa.Table(
    "metrics",
    metadata,
    sa.Column("run_id", sa.String(ID), sa.ForeignKey("runs.run_id"), primary_key=True),
    sa.Column("key", sa.String(KEY), primary_key=True),
    sa.Column("timestamp", sa.BigInteger, primary_key=True),
    sa.Column("step", sa.BigInteger, primary_key=True),
    sa.Column("value", sa.Double, primary_key=True),
    sa.Column("is_nan", sa.Boolean, primary_key=True),
    sa.Column("model_id", sa.String(ID), nullable=True),
    sa.Column("dataset_name", sa.String(NAME), nullable=True),
    sa.Column("dataset_digest", sa.String(64), nullable=True),
)

# The latest point per (run, key), maintained on write, so search never aggregates history.
# ``value`` holds +/-inf as +/-the largest double, the value MLflow compares and orders them as, so
# filters and orders are plain comparisons an index serves; ``is_inf`` (+1/-1) restores them.
latest_metrics = sa.Table(
    "latest_metrics",
    metadata,
    sa.Column("run_id", sa.String(ID), sa.ForeignKey("runs.run_id"), primary_key=True),
    sa.Column("key", sa.String(KEY), primary_key=True),
    sa.Column("value", sa.Double, nullable=False),
    sa.Column("is_inf", sa.SmallInteger, nullable=False),
    sa.Column("timestamp", sa.BigInteger, nullable=False),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Column("is_nan", sa.Boolean, nullable=False),
    sa.Column("model_id", sa.String(ID), nullable=True),
    sa.Column("dataset_name", sa.String(NAME), nullable=True),
    sa.Column("dataset_digest", sa.String(64), nullable=True),
    # SQLite walks this index for a metric filter ordered by the same metric. PostgreSQL gets no
    # such index: before its first ANALYZE (right after a bulk load) it chose it as the inner side
    # of a nested loop over every run, 60x slower than probing the primary key (measured).
    sa.Index("ix_latest_metrics_key_value", "key", "value").ddl_if(dialect="sqlite"),
)

# A dataset is stored once per experiment, identified by (name, digest); the first one wins.
datasets = sa.Table(
    "datasets",
    metadata,
    sa.Column("experiment_id", sa.String(ID), sa.ForeignKey("experiments.experiment_id"), primary_key=True),
    sa.Column("name", sa.String(NAME), primary_key=True),
    sa.Column("digest", sa.String(64), primary_key=True),
    sa.Column("source_type", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("schema", sa.Text, nullable=True),
    sa.Column("profile", sa.Text, nullable=True),
)

# A run's dataset inputs. ``context`` repeats the ``mlflow.data.context`` input tag so that
# `datasets.context` filters are a plain column comparison; ``tags`` holds every input tag as JSON.
run_inputs = sa.Table(
    "run_inputs",
    metadata,
    sa.Column("run_id", sa.String(ID), sa.ForeignKey("runs.run_id"), primary_key=True),
    sa.Column("dataset_name", sa.String(NAME), primary_key=True),
    sa.Column("dataset_digest", sa.String(64), primary_key=True),
    sa.Column("context", sa.String(NAME), nullable=True),
    sa.Column("tags", sa.Text, nullable=False),
)

run_model_inputs = sa.Table(
    "run_model_inputs",
    metadata,
    sa.Column("run_id", sa.String(ID), sa.ForeignKey("runs.run_id"), primary_key=True),
    sa.Column("model_id", sa.String(ID), primary_key=True),
)

run_model_outputs = sa.Table(
    "run_model_outputs",
    metadata,
    sa.Column("run_id", sa.String(ID), sa.ForeignKey("runs.run_id"), primary_key=True),
    sa.Column("model_id", sa.String(ID), primary_key=True),
    sa.Column("step", sa.BigInteger, primary_key=True),
)

# --- MLflow 3 logged models ------------------------------------------------------------------------

logged_models = sa.Table(
    "logged_models",
    metadata,
    sa.Column("model_id", sa.String(ID), primary_key=True),
    sa.Column("experiment_id", sa.String(ID), sa.ForeignKey("experiments.experiment_id"), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("artifact_location", sa.Text, nullable=False),
    sa.Column("creation_timestamp", sa.BigInteger, nullable=False),
    sa.Column("last_updated_timestamp", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("status_message", sa.Text, nullable=True),
    sa.Column("model_type", sa.Text, nullable=True),
    sa.Column("source_run_id", sa.Text, nullable=True),
    sa.Column("lifecycle_stage", sa.String(16), nullable=False),
    sa.Index("ix_logged_models_experiment", "experiment_id", "lifecycle_stage", "creation_timestamp"),
)

logged_model_tags = sa.Table(
    "logged_model_tags",
    metadata,
    sa.Column("model_id", sa.String(ID), sa.ForeignKey("logged_models.model_id"), primary_key=True),
    sa.Column("key", sa.String(KEY), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

logged_model_params = sa.Table(
    "logged_model_params",
    metadata,
    sa.Column("model_id", sa.String(ID), sa.ForeignKey("logged_models.model_id"), primary_key=True),
    sa.Column("key", sa.String(KEY), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

# Metrics recorded on a logged model (a metric logged with a model_id). A point is kept once per
# (run, key, timestamp, step, value, dataset); ``seq`` keeps insertion order stable.
logged_model_metrics = sa.Table(
    "logged_model_metrics",
    metadata,
    sa.Column("model_id", sa.String(ID), sa.ForeignKey("logged_models.model_id"), primary_key=True),
    sa.Column("point_id", sa.String(64), primary_key=True),
    sa.Column("key", sa.String(KEY), nullable=False),
    sa.Column("value", sa.Double, nullable=False),
    sa.Column("is_nan", sa.Boolean, nullable=False),
    sa.Column("timestamp", sa.BigInteger, nullable=False),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Column("run_id", sa.String(ID), nullable=True),
    sa.Column("dataset_name", sa.String(NAME), nullable=True),
    sa.Column("dataset_digest", sa.String(64), nullable=True),
    sa.Index("ix_logged_model_metrics_key", "model_id", "key"),
)

# --- model registry --------------------------------------------------------------------------------

registered_models = sa.Table(
    "registered_models",
    metadata,
    sa.Column("name", sa.String(NAME), primary_key=True),
    sa.Column("creation_timestamp", sa.BigInteger, nullable=False),
    sa.Column("last_updated_timestamp", sa.BigInteger, nullable=False),
    sa.Column("description", sa.Text, nullable=True),
    # The highest version number ever assigned or imported: numbers are never reused, and
    # incrementing this row serialises concurrent create_model_version calls (gapless numbers).
    sa.Column("highest_version", sa.Integer, nullable=False),
    sa.Index("ix_registered_models_updated", "last_updated_timestamp"),
)

registered_model_tags = sa.Table(
    "registered_model_tags",
    metadata,
    sa.Column("name", sa.String(NAME), primary_key=True),
    sa.Column("key", sa.String(KEY), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

model_versions = sa.Table(
    "model_versions",
    metadata,
    sa.Column("name", sa.String(NAME), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("creation_timestamp", sa.BigInteger, nullable=False),
    sa.Column("last_updated_timestamp", sa.BigInteger, nullable=False),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("user_id", sa.String(256), nullable=True),
    sa.Column("current_stage", sa.String(20), nullable=False),
    sa.Column("source", sa.Text, nullable=True),
    sa.Column("run_id", sa.String(ID), nullable=True),
    sa.Column("run_link", sa.Text, nullable=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("status_message", sa.Text, nullable=True),
    sa.Column("model_id", sa.String(ID), nullable=True),
    sa.Index("ix_model_versions_updated", "last_updated_timestamp"),
    sa.Index("ix_model_versions_run", "run_id"),
)

# Deleted version numbers, so an import cannot revive one.
retired_versions = sa.Table(
    "retired_versions",
    metadata,
    sa.Column("name", sa.String(NAME), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
)

model_version_tags = sa.Table(
    "model_version_tags",
    metadata,
    sa.Column("name", sa.String(NAME), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("key", sa.String(KEY), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    # Searches leave out every version of a model that has a prompt version: a NOT EXISTS on
    # (key, name) per version, which SQLite runs as one seek here.
    sa.Index("ix_model_version_tags_key", "key", "name"),
)

registered_model_aliases = sa.Table(
    "registered_model_aliases",
    metadata,
    sa.Column("name", sa.String(NAME), primary_key=True),
    sa.Column("alias", sa.String(256), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
)
