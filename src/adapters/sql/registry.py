"""SQL RegistryStore (SQLAlchemy Core) on SQLite and PostgreSQL.

Every call is one transaction (:meth:`SqlDatabase.transact`). Searches compile the filter and the
order into one query per page, then load the page's tags, aliases and latest versions with one
query per table. Semantics are documented on the port (:mod:`genesis_flow.ports.registry`).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from attrs import evolve
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, Row

from genesis_flow.adapters.sql import errors, schema
from genesis_flow.adapters.sql.database import SqlDatabase
from genesis_flow.adapters.sql.mapping import (
    VERSION_COLUMNS,
    VersionKey,
    VersionRow,
    aliases_of,
    registered_model_from,
    version_entity,
    version_row,
    with_tags,
)
from genesis_flow.adapters.sql.search import Dialect, all_of, compare, keyed_groups
from genesis_flow.core import validation as v
from genesis_flow.core.commands import PageRequest
from genesis_flow.core.entities import Page
from genesis_flow.core.errors import (
    InvalidParameterValue,
)
from genesis_flow.core.registry import (
    ModelVersion,
    ModelVersionTag,
    RegisteredModel,
    RegisteredModelTag,
    Stage,
    alias_not_found,
    latest_version_not_found,
    model_exists,
    model_not_found,
    name_taken,
    transition_target,
    version_exists,
    version_not_found,
)
from genesis_flow.core.search import (
    IS_PROMPT_TAG,
    complete_order,
    prompt_scope,
    unknown_key,
)
from genesis_flow.core.search.ast import (
    Comparator,
    Comparison,
    Filter,
    KeyGroup,
    KeyType,
    OrderBy,
    SearchKind,
)
from genesis_flow.ports.clock import Clock, SystemClock

_RM = schema.registered_models
_RM_TAGS = schema.registered_model_tags
_MV = schema.model_versions
_MV_TAGS = schema.model_version_tags
_ALIASES = schema.registered_model_aliases
_RETIRED = schema.retired_versions

# Version numbers live in 32-bit INTEGER columns: a number outside this range cannot exist, and
# binding it would make the driver fail instead of the lookup.
_MAX_VERSION = 2**31 - 1

_Condition = sa.ColumnElement[bool]


class SqlRegistryStore:
    """The model registry in a SQL database. Thread-safe: calls share nothing but the engine."""

    def __init__(self, database: SqlDatabase, clock: Clock | None = None) -> None:
        self._db = database
        self._clock = clock or SystemClock()
        self._pg = database.dialect == "postgresql"
        self._dialect = Dialect(database.dialect)

    @classmethod
    def from_uri(cls, uri: str) -> SqlRegistryStore:
        return cls(SqlDatabase.from_uri(uri))

    # --- registered models -----------------------------------------------------------------------

    def create_registered_model(
        self,
        name: str,
        tags: Sequence[RegisteredModelTag] = (),
        description: str | None = None,
    ) -> RegisteredModel:
        tag_values = v.new_registered_model(name, tags, description)

        def work(conn: Connection) -> RegisteredModel:
            now = self._clock.now_ms()
            if not self._insert_model(conn, name, now, now, description, tag_values):
                holder = conn.execute(
                    sa.select(_RM_TAGS.c.key).where(_RM_TAGS.c.name == name, _RM_TAGS.c.key == IS_PROMPT_TAG)
                )
                raise name_taken(name, holder.scalars(), tag_values)
            return RegisteredModel(
                name=name,
                creation_timestamp=now,
                last_updated_timestamp=now,
                description=description,
                tags=tuple(RegisteredModelTag(k, val) for k, val in tag_values.items()),
            )

        return self._db.transact(work, write=True)

    def get_registered_model(self, name: str) -> RegisteredModel:
        v.validate_model_name(name)

        def work(conn: Connection) -> RegisteredModel:
            row = conn.execute(sa.select(_RM).where(_RM.c.name == name)).first()
            if row is None:
                raise model_not_found(name)
            return self._model_entities(conn, [row])[0]

        return self._db.transact(work)

    def update_registered_model(self, name: str, description: str | None) -> RegisteredModel:
        v.validate_texts(description=description)
        v.validate_model_name(name)

        def work(conn: Connection) -> RegisteredModel:
            row = conn.execute(
                sa.update(_RM)
                .where(_RM.c.name == name)
                .values(description=description, last_updated_timestamp=self._clock.now_ms())
                .returning(*_RM.c)
            ).first()
            if row is None:
                raise model_not_found(name)
            return self._model_entities(conn, [row])[0]

        return self._db.transact(work, write=True)

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        # MLflow checks the new name before looking the old one up.
        v.validate_model_name(new_name, path="new_name")
        v.validate_model_name(name)

        def work(conn: Connection) -> RegisteredModel:
            now = self._clock.now_ms()
            try:
                # A savepoint, so that losing a race for the new name (PostgreSQL) can still be
                # reported as the domain error.
                with conn.begin_nested():
                    row = conn.execute(
                        sa.update(_RM)
                        .where(_RM.c.name == name)
                        .values(name=new_name, last_updated_timestamp=now)
                        .returning(*_RM.c)
                    ).first()
            except sa.exc.IntegrityError as error:
                if errors.is_unique_violation(error):
                    raise model_exists(new_name) from None
                raise
            if row is None:
                raise model_not_found(name)
            conn.execute(sa.update(_RM_TAGS).where(_RM_TAGS.c.name == name).values(name=new_name))
            conn.execute(
                sa.update(_MV).where(_MV.c.name == name).values(name=new_name, last_updated_timestamp=now)
            )
            for table in (_MV_TAGS, _ALIASES, _RETIRED):
                conn.execute(sa.update(table).where(table.c.name == name).values(name=new_name))
            return self._model_entities(conn, [row])[0]

        return self._db.transact(work, write=True)

    def delete_registered_model(self, name: str) -> None:
        v.validate_model_name(name)

        def work(conn: Connection) -> None:
            # The model row goes first: on PostgreSQL that waits for a concurrent version
            # creation, whose version the deletes below then see.
            if conn.execute(sa.delete(_RM).where(_RM.c.name == name)).rowcount == 0:
                raise model_not_found(name)
            # Versions go with the model, numbering included: a model created later under the
            # same name starts again at 1, as in MLflow.
            for table in (_RM_TAGS, _MV, _MV_TAGS, _ALIASES, _RETIRED):
                conn.execute(sa.delete(table).where(table.c.name == name))

        self._db.transact(work, write=True)

    def search_registered_models(
        self,
        filter: Filter = Filter(),
        max_results: int | None = None,
        order_by: Sequence[OrderBy] = (),
        page_token: str | None = None,
    ) -> Page[RegisteredModel]:
        kind = SearchKind.REGISTERED_MODELS
        page = PageRequest.search(kind, max_results, page_token, filter, tuple(order_by))
        effective, prompts = prompt_scope(filter)
        groups = effective.groups(kind)
        conditions = [self._model_condition(g) for g in groups if g.key_type is not KeyType.TAG]
        tags = [g for g in groups if g.key_type is KeyType.TAG]
        conditions += keyed_groups(self._dialect, _RM_TAGS, [(_RM.c.name, "name")], tags)
        if not prompts:
            conditions.append(~_tagged_prompt(_RM_TAGS, _RM_TAGS.c.name == _RM.c.name))
        query = sa.select(_RM).where(*conditions).order_by(*self._model_order(order_by))
        return self._db.read_page(query, page, self._model_entities)

    def get_latest_versions(self, name: str, stages: Sequence[str] | None = None) -> tuple[ModelVersion, ...]:
        v.validate_model_name(name)

        def work(conn: Connection) -> tuple[ModelVersion, ...]:
            self._require_model(conn, name, lock=False)
            wanted = {Stage.parse(s) for s in stages} if stages else None
            latest = self._latest_versions(conn, [name], wanted).get(name, [])
            aliases = self._aliases(conn, [name]).get(name, {})
            found = [version_entity(row, tags, aliases_of(aliases, row[1])) for row, tags in latest]
            return tuple(sorted(found, key=lambda mv: mv.version))

        return self._db.transact(work)

    def set_registered_model_tag(self, name: str, tag: RegisteredModelTag) -> None:
        v.validate_model_name(name)
        v.validate_registry_tag(tag.key, tag.value)

        def work(conn: Connection) -> None:
            # MLflow leaves last_updated_timestamp alone for tag writes.
            self._require_model(conn, name)
            self._upsert(conn, _RM_TAGS, [{"name": name, "key": tag.key, "value": tag.value}])

        self._db.transact(work, write=True)

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        v.validate_model_name(name)
        v.validate_key(key, "key", "tag")

        def work(conn: Connection) -> None:
            self._require_model(conn, name)
            conn.execute(sa.delete(_RM_TAGS).where(_RM_TAGS.c.name == name, _RM_TAGS.c.key == key))

        self._db.transact(work, write=True)

    # --- model versions --------------------------------------------------------------------------

    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: Sequence[ModelVersionTag] = (),
        run_link: str | None = None,
        description: str | None = None,
        user_id: str | None = None,
        model_id: str | None = None,
    ) -> ModelVersion:
        tag_values = v.new_model_version(name, source, run_id, tags, run_link, description, user_id, model_id)

        def work(conn: Connection) -> ModelVersion:
            now = self._clock.now_ms()
            # Incrementing the model's counter row-locks it on PostgreSQL (SQLite writers are
            # serial), so concurrent creations get distinct, gapless numbers.
            number = conn.execute(
                sa.update(_RM)
                .where(_RM.c.name == name)
                .values(highest_version=_RM.c.highest_version + 1, last_updated_timestamp=now)
                .returning(_RM.c.highest_version)
            ).scalar_one_or_none()
            if number is None:
                raise model_not_found(name)
            version = ModelVersion(
                name=name,
                version=number,
                creation_timestamp=now,
                last_updated_timestamp=now,
                description=description,
                user_id=user_id,
                source=source,
                run_id=run_id,
                run_link=run_link,
                model_id=model_id,
                tags=tuple(ModelVersionTag(k, val) for k, val in tag_values.items()),
            )
            self._insert_version(conn, version)
            return version

        return self._db.transact(work, write=True)

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        number = _existing_number(name, version)
        return self._db.transact(lambda conn: self._load_version(conn, name, number))

    def update_model_version(self, name: str, version: int, description: str | None) -> ModelVersion:
        v.validate_texts(description=description)
        number = _existing_number(name, version)

        def work(conn: Connection) -> ModelVersion:
            # Only the version's time moves; MLflow leaves the model's alone here.
            updated = conn.execute(
                sa.update(_MV)
                .where(*_is_version(_MV, name, number))
                .values(description=description, last_updated_timestamp=self._clock.now_ms())
            )
            if updated.rowcount == 0:
                raise version_not_found(name, number)
            return self._load_version(conn, name, number)

        return self._db.transact(work, write=True)

    def transition_model_version_stage(
        self, name: str, version: int, stage: str | Stage, archive_existing_versions: bool = False
    ) -> ModelVersion:
        target = transition_target(stage, archive_existing_versions)
        number = _existing_number(name, version)

        def work(conn: Connection) -> ModelVersion:
            now = self._clock.now_ms()
            # The model row first, as every write that locks it does (no deadlocks on
            # PostgreSQL); an unknown version below rolls the update back.
            if not self._touch_model(conn, name, now):
                raise version_not_found(name, number)
            moved = conn.execute(
                sa.update(_MV)
                .where(*_is_version(_MV, name, number))
                .values(current_stage=target.value, last_updated_timestamp=now)
            )
            if moved.rowcount == 0:
                raise version_not_found(name, number)
            if archive_existing_versions:
                conn.execute(
                    sa.update(_MV)
                    .where(_MV.c.name == name, _MV.c.current_stage == target.value, _MV.c.version != number)
                    .values(current_stage=Stage.ARCHIVED.value, last_updated_timestamp=now)
                )
            return self._load_version(conn, name, number)

        return self._db.transact(work, write=True)

    def delete_model_version(self, name: str, version: int) -> None:
        number = _existing_number(name, version)

        def work(conn: Connection) -> None:
            # Model row, then version row (see transition_model_version_stage). Deleting the
            # version row waits for concurrent tag and alias writes on it (they lock it), whose
            # rows the deletes below then see.
            if not self._touch_model(conn, name, self._clock.now_ms()):
                raise version_not_found(name, number)
            if conn.execute(sa.delete(_MV).where(*_is_version(_MV, name, number))).rowcount == 0:
                raise version_not_found(name, number)
            conn.execute(sa.delete(_MV_TAGS).where(*_is_version(_MV_TAGS, name, number)))
            conn.execute(sa.delete(_ALIASES).where(*_is_version(_ALIASES, name, number)))
            conn.execute(sa.insert(_RETIRED).values(name=name, version=number))

        self._db.transact(work, write=True)

    def get_model_version_download_uri(self, name: str, version: int) -> str:
        number = _existing_number(name, version)

        def work(conn: Connection) -> str:
            row = conn.execute(sa.select(_MV.c.source).where(*_is_version(_MV, name, number))).first()
            if row is None:
                raise version_not_found(name, number)
            return row.source if row.source is not None else ""

        return self._db.transact(work)

    def search_model_versions(
        self,
        filter: Filter = Filter(),
        max_results: int | None = None,
        order_by: Sequence[OrderBy] = (),
        page_token: str | None = None,
    ) -> Page[ModelVersion]:
        kind = SearchKind.MODEL_VERSIONS
        page = PageRequest.search(kind, max_results, page_token, filter, tuple(order_by))
        effective, prompts = prompt_scope(filter)
        groups = effective.groups(kind)
        conditions = [self._version_condition(g) for g in groups if g.key_type is not KeyType.TAG]
        tags = [g for g in groups if g.key_type is KeyType.TAG]
        owner = [(_MV.c.name, "name"), (_MV.c.version, "version")]
        conditions += keyed_groups(self._dialect, _MV_TAGS, owner, tags)
        if not prompts:
            # Every version of a model that has a prompt version is left out, not only that one.
            conditions.append(~_tagged_prompt(_MV_TAGS, _MV_TAGS.c.name == _MV.c.name))
        query = sa.select(*VERSION_COLUMNS).where(*conditions).order_by(*self._version_order(order_by))
        return self._db.read_page(query, page, self._version_entities)

    def set_model_version_tag(self, name: str, version: int, tag: ModelVersionTag) -> None:
        number = v.model_version_number(name, version)
        v.validate_registry_tag(tag.key, tag.value)
        _require_storable(name, number)

        def work(conn: Connection) -> None:
            # MLflow leaves both last_updated_timestamps alone for tag writes.
            self._require_version(conn, name, number)
            self._upsert(
                conn, _MV_TAGS, [{"name": name, "version": number, "key": tag.key, "value": tag.value}]
            )

        self._db.transact(work, write=True)

    def delete_model_version_tag(self, name: str, version: int, key: str) -> None:
        number = v.model_version_number(name, version)
        v.validate_key(key, "key", "tag")
        _require_storable(name, number)

        def work(conn: Connection) -> None:
            self._require_version(conn, name, number)
            conn.execute(
                sa.delete(_MV_TAGS).where(*_is_version(_MV_TAGS, name, number), _MV_TAGS.c.key == key)
            )

        self._db.transact(work, write=True)

    # --- aliases ---------------------------------------------------------------------------------

    def set_registered_model_alias(self, name: str, alias: str, version: int) -> None:
        v.validate_model_name(name)
        v.validate_alias(alias)
        number = _existing_number(name, version)

        def work(conn: Connection) -> None:
            # MLflow looks the version up directly, so an unknown model reports the version missing.
            self._require_version(conn, name, number)
            self._upsert(conn, _ALIASES, [{"name": name, "alias": alias, "version": number}])

        self._db.transact(work, write=True)

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        v.validate_model_name(name)
        v.validate_alias(alias, allow_reserved=True)

        def work(conn: Connection) -> None:
            self._require_model(conn, name)
            conn.execute(sa.delete(_ALIASES).where(_ALIASES.c.name == name, _ALIASES.c.alias == alias))

        self._db.transact(work, write=True)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        v.validate_model_name(name)
        v.validate_alias(alias, allow_reserved=True)
        latest = alias.lower() == "latest"
        if latest:
            target: sa.ScalarSelect[Any] = (
                sa.select(sa.func.max(_MV.c.version)).where(_MV.c.name == _RM.c.name).scalar_subquery()
            )
        else:
            target = (
                sa.select(_ALIASES.c.version)
                .where(_ALIASES.c.name == _RM.c.name, _ALIASES.c.alias == alias)
                .scalar_subquery()
            )

        def work(conn: Connection) -> ModelVersion:
            row = conn.execute(
                sa.select(target.label("version")).select_from(_RM).where(_RM.c.name == name)
            ).first()
            if row is None:
                raise model_not_found(name)
            if row.version is None:
                if latest:
                    raise latest_version_not_found(name)
                raise alias_not_found(alias)
            return self._load_version(conn, name, row.version)

        return self._db.transact(work)

    # --- import (migration) ----------------------------------------------------------------------

    def import_registered_model(self, model: RegisteredModel) -> None:
        tag_values = v.imported_registered_model(model)

        def work(conn: Connection) -> None:
            if not self._insert_model(
                conn,
                model.name,
                model.creation_timestamp,
                model.last_updated_timestamp,
                model.description,
                tag_values,
            ):
                raise model_exists(model.name)

        self._db.transact(work, write=True)

    def import_model_version(self, version: ModelVersion) -> None:
        number, tag_values = v.imported_model_version(version)
        if number > _MAX_VERSION:
            raise InvalidParameterValue(f"Model version numbers go up to {_MAX_VERSION}, got {number}.")
        name = version.name
        imported = evolve(
            version,
            version=number,
            tags=tuple(ModelVersionTag(k, val) for k, val in tag_values.items()),
            aliases=(),
        )

        def work(conn: Connection) -> None:
            # Raising the counter locks the model row (PostgreSQL), which serialises imports and
            # creations of the model; a failure below rolls the raise back.
            raised = conn.execute(
                sa.update(_RM)
                .where(_RM.c.name == name)
                .values(
                    highest_version=sa.case(
                        (_RM.c.highest_version < number, number), else_=_RM.c.highest_version
                    )
                )
            )
            if raised.rowcount == 0:
                raise model_not_found(name)
            # A deleted number counts as taken too: numbers are never reused.
            taken = sa.union_all(
                sa.select(_MV.c.version).where(*_is_version(_MV, name, number)),
                sa.select(_RETIRED.c.version).where(*_is_version(_RETIRED, name, number)),
            )
            if conn.execute(taken).first() is not None:
                raise version_exists(name, number)
            self._insert_version(conn, imported)
            if version.aliases:
                self._upsert(
                    conn, _ALIASES, [{"name": name, "alias": a, "version": number} for a in version.aliases]
                )

        self._db.transact(work, write=True)

    # --- writes ----------------------------------------------------------------------------------

    def _insert_model(
        self,
        conn: Connection,
        name: str,
        creation_timestamp: int,
        last_updated_timestamp: int,
        description: str | None,
        tag_values: dict[str, str],
    ) -> bool:
        """Insert a model with its tags; False (nothing written) when the name is taken."""
        # ON CONFLICT DO NOTHING settles a race for the name without a savepoint: PostgreSQL
        # waits for the competing insert and then reports the conflict as "no row".
        inserted = conn.execute(
            self._dialect.insert(_RM)
            .values(
                name=name,
                creation_timestamp=creation_timestamp,
                last_updated_timestamp=last_updated_timestamp,
                description=description,
                highest_version=0,
            )
            .on_conflict_do_nothing(index_elements=[_RM.c.name])
            .returning(_RM.c.name)
        ).first()
        if inserted is None:
            return False
        if tag_values:
            conn.execute(
                sa.insert(_RM_TAGS), [{"name": name, "key": k, "value": val} for k, val in tag_values.items()]
            )
        return True

    def _insert_version(self, conn: Connection, version: ModelVersion) -> None:
        conn.execute(sa.insert(_MV).values(version_row(version)))
        if version.tags:
            conn.execute(
                sa.insert(_MV_TAGS),
                [
                    {"name": version.name, "version": version.version, "key": t.key, "value": t.value}
                    for t in version.tags
                ],
            )

    def _upsert(self, conn: Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
        keys = [c.name for c in table.primary_key.columns]
        updates = [c.name for c in table.columns if not c.primary_key]
        conn.execute(self._dialect.upsert(table, keys, updates), rows)

    def _touch_model(self, conn: Connection, name: str, now: int) -> bool:
        """Move the model's last_updated_timestamp (locking its row); False when it does not exist."""
        updated = conn.execute(sa.update(_RM).where(_RM.c.name == name).values(last_updated_timestamp=now))
        return updated.rowcount > 0

    # --- reads -----------------------------------------------------------------------------------

    def _require_model(self, conn: Connection, name: str, *, lock: bool = True) -> None:
        # FOR KEY SHARE (PostgreSQL), for writes: a concurrent rename or delete of the model waits
        # for this transaction, so nothing is written under a name that is going away.
        query = sa.select(_RM.c.name).where(_RM.c.name == name)
        if lock:
            query = query.with_for_update(read=True, key_share=True)
        if conn.execute(query).first() is None:
            raise model_not_found(name)

    def _require_version(self, conn: Connection, name: str, number: int) -> None:
        # As in _require_model, for the version's tags and aliases.
        query = (
            sa.select(_MV.c.version)
            .where(*_is_version(_MV, name, number))
            .with_for_update(read=True, key_share=True)
        )
        if conn.execute(query).first() is None:
            raise version_not_found(name, number)

    def _load_version(self, conn: Connection, name: str, number: int) -> ModelVersion:
        """The live version with its tags and aliases, in two queries."""
        rows = conn.execute(
            sa.select(*VERSION_COLUMNS, _MV_TAGS.c.key, _MV_TAGS.c.value)
            .select_from(_MV.outerjoin(_MV_TAGS, _joins_version(_MV_TAGS)))
            .where(*_is_version(_MV, name, number))
        ).all()
        if not rows:
            raise version_not_found(name, number)
        aliases = conn.execute(
            sa.select(_ALIASES.c.alias).where(*_is_version(_ALIASES, name, number))
        ).scalars()
        ((row, tags),) = with_tags(rows)
        return version_entity(row, tags, aliases)

    def _version_entities(self, conn: Connection, rows: Sequence[VersionRow]) -> list[ModelVersion]:
        """Entities for version rows, in their order: one query for the tags, one for the aliases."""
        if not rows:
            return []
        keys = [(row[0], row[1]) for row in rows]
        tags: defaultdict[VersionKey, list[ModelVersionTag]] = defaultdict(list)
        tag_rows = conn.execute(
            self._of_versions(
                sa.select(_MV_TAGS.c.name, _MV_TAGS.c.version, _MV_TAGS.c.key, _MV_TAGS.c.value),
                _MV_TAGS,
                keys,
            )
        )
        for name, number, key, value in tag_rows.all():
            tags[(name, number)].append(ModelVersionTag(key, value))
        aliases: defaultdict[VersionKey, list[str]] = defaultdict(list)
        alias_rows = conn.execute(
            self._of_versions(
                sa.select(_ALIASES.c.name, _ALIASES.c.version, _ALIASES.c.alias), _ALIASES, keys
            )
        )
        for name, number, alias in alias_rows.all():
            aliases[(name, number)].append(alias)
        return [version_entity(row, tags[key], aliases[key]) for row, key in zip(rows, keys, strict=True)]

    def _model_entities(self, conn: Connection, rows: Sequence[Row[Any]]) -> list[RegisteredModel]:
        """Entities for model rows, in their order: one query each for the tags, the aliases, and
        the latest versions with their tags."""
        if not rows:
            return []
        names = [row.name for row in rows]
        tags: defaultdict[str, list[RegisteredModelTag]] = defaultdict(list)
        tag_rows = conn.execute(
            sa.select(_RM_TAGS.c.name, _RM_TAGS.c.key, _RM_TAGS.c.value).where(
                self._names_in(_RM_TAGS.c.name, names)
            )
        )
        for name, key, value in tag_rows.all():
            tags[name].append(RegisteredModelTag(key, value))
        aliases = self._aliases(conn, names)
        latest = self._latest_versions(conn, names)
        return [
            registered_model_from(row, tags[row.name], aliases.get(row.name, {}), latest.get(row.name, []))
            for row in rows
        ]

    def _aliases(self, conn: Connection, names: Sequence[str]) -> dict[str, dict[str, int]]:
        """Per model, its aliases and the version each points at."""
        found: defaultdict[str, dict[str, int]] = defaultdict(dict)
        rows = conn.execute(
            sa.select(_ALIASES.c.name, _ALIASES.c.alias, _ALIASES.c.version).where(
                self._names_in(_ALIASES.c.name, names)
            )
        )
        for name, alias, number in rows.all():
            found[name][alias] = number
        return found

    def _latest_versions(
        self, conn: Connection, names: Sequence[str], stages: set[Stage] | None = None
    ) -> dict[str, list[tuple[VersionRow, list[ModelVersionTag]]]]:
        """Per model, the highest version in each stage (only ``stages`` when given) with its tags."""
        highest = sa.select(_MV.c.name, sa.func.max(_MV.c.version).label("version")).where(
            self._names_in(_MV.c.name, names)
        )
        if stages is not None:
            highest = highest.where(_MV.c.current_stage.in_([s.value for s in stages]))
        top = highest.group_by(_MV.c.name, _MV.c.current_stage).subquery()
        rows = conn.execute(
            sa.select(*VERSION_COLUMNS, _MV_TAGS.c.key, _MV_TAGS.c.value).select_from(
                _MV.join(top, sa.and_(_MV.c.name == top.c.name, _MV.c.version == top.c.version)).outerjoin(
                    _MV_TAGS, _joins_version(_MV_TAGS)
                )
            )
        ).all()
        found: dict[str, list[tuple[VersionRow, list[ModelVersionTag]]]] = defaultdict(list)
        for row, tags in with_tags(rows):
            found[row[0]].append((row, tags))
        return found

    # --- key sets ----------------------------------------------------------------------------------

    # A page's keys travel as one array (PostgreSQL) or JSON (SQLite) parameter rather than one
    # parameter per key: the SQL text stays the same for any page size (statement cache) and no
    # page can exceed the drivers' parameter limits.

    def _names_in(self, column: sa.ColumnElement[Any], names: Sequence[str]) -> _Condition:
        if len(names) == 1:
            return column == names[0]
        if self._pg:
            return column == sa.any_(sa.bindparam(None, list(names), type_=postgresql.ARRAY(sa.String)))
        items = sa.func.json_each(sa.bindparam(None, json.dumps(list(names)))).table_valued("value")
        return column.in_(sa.select(items.c.value))

    def _of_versions(
        self, query: sa.Select[Any], table: sa.Table, keys: Sequence[VersionKey]
    ) -> sa.Select[Any]:
        """``query`` (on ``table``) restricted to the rows of the versions ``keys``."""
        if len(keys) == 1:
            return query.where(*_is_version(table, *keys[0]))
        if self._pg:
            names = sa.bindparam(None, [k[0] for k in keys], type_=postgresql.ARRAY(sa.String))
            numbers = sa.bindparam(None, [k[1] for k in keys], type_=postgresql.ARRAY(sa.Integer))
            listed = sa.select(
                sa.func.unnest(names).label("name"), sa.func.unnest(numbers).label("version")
            ).subquery()
        else:
            items = sa.func.json_each(sa.bindparam(None, json.dumps(keys))).table_valued("value")
            listed = sa.select(
                sa.func.json_extract(items.c.value, "$[0]").label("name"),
                sa.func.json_extract(items.c.value, "$[1]").label("version"),
            ).subquery()
        # A join rather than (name, version) IN (...): SQLite seeks a row-value IN on its first
        # column only, which reads every tag of a model with many versions for a small page.
        return query.join(listed, sa.and_(table.c.name == listed.c.name, table.c.version == listed.c.version))

    # --- search compilation ------------------------------------------------------------------------

    def _model_condition(self, g: KeyGroup) -> _Condition:
        # One condition per key group, however often the filter names the key (tags: see
        # keyed_groups).
        if g.key_type is KeyType.ATTRIBUTE and g.key == "name":
            return all_of([self._value_condition(_RM.c.name, c) for c in g.comparisons])
        raise unknown_key(SearchKind.REGISTERED_MODELS, g.comparisons[0])

    def _version_condition(self, g: KeyGroup) -> _Condition:
        if g.key_type is KeyType.ATTRIBUTE and g.key in _VERSION_FIELDS:
            column = _MV.c[_VERSION_FIELDS[g.key]]
            return all_of([self._value_condition(column, c) for c in g.comparisons])
        raise unknown_key(SearchKind.MODEL_VERSIONS, g.comparisons[0])

    def _value_condition(self, column: sa.Column[Any], c: Comparison) -> _Condition:
        if c.comparator is Comparator.IS_NULL:
            return column.is_(None)
        if c.comparator is Comparator.IS_NOT_NULL:
            return column.is_not(None)
        compared = compare(self._dialect, column, c.comparator, c.value)
        # SQL's NULL fails the other comparisons as a missing value must, except NOT IN over no
        # values, which holds even for NULL.
        return sa.and_(column.is_not(None), compared) if column.nullable else compared

    def _model_order(self, order_by: Sequence[OrderBy]) -> list[sa.ColumnElement[Any]]:
        columns = {"name": _RM.c.name, "last_updated_timestamp": _RM.c.last_updated_timestamp}
        orders = complete_order(SearchKind.REGISTERED_MODELS, order_by)
        return [self._directed(columns[o.key], o.ascending) for o in orders]

    def _version_order(self, order_by: Sequence[OrderBy]) -> list[sa.ColumnElement[Any]]:
        columns = {
            "name": _MV.c.name,
            "version_number": _MV.c.version,
            "creation_timestamp": _MV.c.creation_timestamp,
            "last_updated_timestamp": _MV.c.last_updated_timestamp,
        }
        orders = complete_order(SearchKind.MODEL_VERSIONS, order_by)
        return [self._directed(columns[o.key], o.ascending) for o in orders]

    def _directed(self, column: sa.ColumnElement[Any], ascending: bool) -> sa.ColumnElement[Any]:
        if isinstance(column.type, sa.String):
            column = self._dialect.text(column)
        return column.asc() if ascending else column.desc()


_VERSION_FIELDS = {"name": "name", "run_id": "run_id", "source_path": "source", "version_number": "version"}


def _is_version(table: sa.Table, name: str, number: int) -> tuple[_Condition, _Condition]:
    return table.c.name == name, table.c.version == number


def _joins_version(table: sa.Table) -> _Condition:
    return sa.and_(table.c.name == _MV.c.name, table.c.version == _MV.c.version)


def _tagged_prompt(table: sa.Table, owner: _Condition) -> sa.Exists:
    return sa.exists().where(owner, table.c.key == IS_PROMPT_TAG, table.c.value == "true")


def _require_storable(name: str, number: int) -> None:
    if not 1 <= number <= _MAX_VERSION:
        raise version_not_found(name, number)


def _existing_number(name: str, version: object) -> int:
    """The validated number of a version to look up (not found when no stored number can be it)."""
    number = v.model_version_number(name, version)
    _require_storable(name, number)
    return number
