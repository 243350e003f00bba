"""Tables of the SQL adapter (SQLAlchemy Core), and the indexes their queries need.

One ``MetaData`` holds the tracking and the registry tables; both stores open the same database
and the schema is versioned as a whole (:mod:`.migrations`). Names are plain; our own version table
is ``genesis_schema``, which is how a database of ours is recognised (an MLflow database has
``alembic_version`` instead, and is refused).

Conventions:
* keys are ``VARCHAR`` of MLflow's key limits; long values are ``TEXT``. PostgreSQL's btree entries
  must stay under ~2.7 kB, so no index covers a value column that can be longer than that.
* times are BIGINT milliseconds; metric values DOUBLE, with NaN stored as 0.0 plus ``is_nan``
  (SQLite turns NaN into NULL, and MLflow does the same) while +/-inf are stored as they are.
* ids are strings. Experiment ids are decimal strings allocated from ``counters``; ``id_order``
  keeps their integer value for MLflow's numeric ordering (an imported non-numeric id leaves it
  NULL and orders after the numeric ones).
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

KEY = 250  # MLflow's entity key limit (params, tags, metrics)
ID = 256  # ids are ours (32 hex) unless imported; model ids in links come from users
NAME = 500
TRACE_ID = 250  # MLflow's trace id (and client request id) limit
SPAN_ID = 64

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
# ``ordinal`` numbers a run's inputs in logging order, the order MLflow returns them in (inputs
# stored before schema version 3 all have 0 and come first, by name and digest).
run_inputs = sa.Table(
    "run_inputs",
    metadata,
    sa.Column("run_id", sa.String(ID), sa.ForeignKey("runs.run_id"), primary_key=True),
    sa.Column("dataset_name", sa.String(NAME), primary_key=True),
    sa.Column("dataset_digest", sa.String(64), primary_key=True),
    sa.Column("context", sa.String(NAME), nullable=True),
    sa.Column("tags", sa.Text, nullable=False),
    sa.Column("ordinal", sa.BigInteger, nullable=False, server_default=sa.text("0")),
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

# Every table whose rows belong to one run (deleted with it by purge_deleted_runs).
RUN_CHILD_TABLES = (params, tags, metrics, latest_metrics, run_inputs, run_model_inputs, run_model_outputs)

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

# --- GenAI traces (schema version 2) --------------------------------------------------------------

# One row per trace: MLflow 3's trace info. ``request_time`` and ``execution_duration`` are
# milliseconds; the index serves search_traces' default order within an experiment
# (request_time DESC, trace_id ASC) and the time-bounded delete_traces.
trace_info = sa.Table(
    "trace_info",
    metadata,
    sa.Column("trace_id", sa.String(TRACE_ID), primary_key=True),
    sa.Column("experiment_id", sa.String(ID), sa.ForeignKey("experiments.experiment_id"), nullable=False),
    sa.Column("request_time", sa.BigInteger, nullable=False),
    sa.Column("execution_duration", sa.BigInteger, nullable=True),
    sa.Column("state", sa.String(32), nullable=False),
    sa.Column("request_preview", sa.Text, nullable=True),
    sa.Column("response_preview", sa.Text, nullable=True),
    sa.Column("client_request_id", sa.String(TRACE_ID), nullable=True),
)
sa.Index(
    "ix_trace_info_experiment_time",
    trace_info.c.experiment_id,
    trace_info.c.request_time.desc(),
    trace_info.c.trace_id,
)

trace_tags = sa.Table(
    "trace_tags",
    metadata,
    sa.Column("trace_id", sa.String(TRACE_ID), sa.ForeignKey("trace_info.trace_id"), primary_key=True),
    sa.Column("key", sa.String(KEY), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

trace_metadata = sa.Table(
    "trace_metadata",
    metadata,
    sa.Column("trace_id", sa.String(TRACE_ID), sa.ForeignKey("trace_info.trace_id"), primary_key=True),
    sa.Column("key", sa.String(KEY), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

# search_traces reads the traces whose tag or metadata row matches a comparison from these, by
# key then value. PostgreSQL caps a B-tree entry far below the 8000 characters of a value: there
# a hash index on the value serves equality (the key is checked on the rows it finds).
sa.Index("ix_trace_tags_key_value", trace_tags.c.key, trace_tags.c.value, trace_tags.c.trace_id).ddl_if(
    dialect="sqlite"
)
sa.Index(
    "ix_trace_metadata_key_value", trace_metadata.c.key, trace_metadata.c.value, trace_metadata.c.trace_id
).ddl_if(dialect="sqlite")
for _pairs in (trace_tags, trace_metadata):
    sa.Index(f"ix_{_pairs.name}_value", _pairs.c.value, postgresql_using="hash").ddl_if(dialect="postgresql")
del _pairs

# A trace's spans: the start time (their order) as a column, everything else as one JSON document
# (name, parent id, end time, status, attributes, events), written and read whole.
spans = sa.Table(
    "spans",
    metadata,
    sa.Column("trace_id", sa.String(TRACE_ID), sa.ForeignKey("trace_info.trace_id"), primary_key=True),
    sa.Column("span_id", sa.String(SPAN_ID), primary_key=True),
    sa.Column("start_time_ns", sa.BigInteger, nullable=False),
    sa.Column("content", sa.Text, nullable=False),
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

TRACKING_TABLES = (
    experiments,
    experiment_tags,
    runs,
    params,
    tags,
    metrics,
    latest_metrics,
    datasets,
    run_inputs,
    run_model_inputs,
    run_model_outputs,
    logged_models,
    logged_model_tags,
    logged_model_params,
    logged_model_metrics,
    trace_info,
    trace_tags,
    trace_metadata,
    spans,
)
REGISTRY_TABLES = (
    registered_models,
    registered_model_tags,
    model_versions,
    retired_versions,
    model_version_tags,
    registered_model_aliases,
)
