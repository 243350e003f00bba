"""Parse MLflow search filters and ``order_by`` clauses into the frozen AST.

The grammar and its per-entity rules follow MLflow 3.17.2's SQL store (``SearchUtils`` and
friends, and the checks ``SqlAlchemyStore`` adds when it builds the query). Every rejected input
raises :class:`InvalidParameterValue` whose message names the offending piece; no other exception
escapes :func:`parse_filter` or :func:`parse_order_by` for any string input.

Filter grammar::

    filter     := [AND]* comparison ([AND]* comparison)* [AND]*
    comparison := key comparator value | key IS [NOT] NULL
    comparator := = | != | < | <= | > | >= | LIKE | ILIKE | RLIKE | IN | NOT IN
    value      := 'string' | "string" | number | ( 'string' [, 'string']* [,] )

``AND`` is case-insensitive. As in MLflow, a leading, trailing or repeated ``AND`` is ignored, and
so is a missing one between two complete comparisons. ``OR`` and parentheses around comparisons
are rejected.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence

from attrs import frozen

from genesis_flow.core.errors import InvalidParameterValue, NotSupported
from genesis_flow.core.search.ast import Comparator, Comparison, Filter, KeyType, OrderBy, SearchKind, Value
from genesis_flow.core.search.evaluate import regex
from genesis_flow.core.search.lexer import IdentPart, Token, TokenKind, is_integer_literal, tokenize
from genesis_flow.core.validation import is_long

C = Comparator
NUMERIC_COMPARATORS = frozenset({C.EQ, C.NE, C.LT, C.LE, C.GT, C.GE})
STRING_COMPARATORS = frozenset({C.EQ, C.NE, C.LIKE, C.ILIKE})
LIST_COMPARATORS = frozenset({C.IN, C.NOT_IN})
NULL_COMPARATORS = frozenset({C.IS_NULL, C.IS_NOT_NULL})

# Value kinds a field accepts.
_NUMBER = "number"  # numeric literal: int when integral, else float
_FLOAT = "float"  # numeric literal, always float (metrics)
_INTEGER = "integer"  # integral numeric literal only (experiment times)
_VERSION = "version"  # integral numeric literal or a quoted integer (model version numbers)
_STRING = "string"  # quoted string; a list too when the comparators include IN
_EXPERIMENT_ID = "experiment_id"  # quoted integer, canonicalized to its decimal form


@frozen
class _Field:
    value_kind: str
    comparators: frozenset[Comparator]


_METRIC = _Field(_FLOAT, NUMERIC_COMPARATORS)
_PARAM_OR_TAG = _Field(_STRING, STRING_COMPARATORS | NULL_COMPARATORS)
_REGISTRY_TAG = _Field(_STRING, STRING_COMPARATORS)
_STRING_WITH_LIST = _Field(_STRING, STRING_COMPARATORS | LIST_COMPARATORS)
_STRING_ONLY = _Field(_STRING, STRING_COMPARATORS)
# Traces add RLIKE to every string key (MLflow's trace grammar alone has it).
_TRACE_TAG = _Field(_STRING, STRING_COMPARATORS | {C.RLIKE} | NULL_COMPARATORS)
_TRACE_TEXT = _Field(_STRING, STRING_COMPARATORS | {C.RLIKE} | LIST_COMPARATORS)
# ``name`` and ``run_id`` are a tag and a metadata entry, so they take IS [NOT] NULL as MLflow's
# do; IN / NOT IN on them is ours (MLflow refuses it; see tests/differential/DIFFERENCES.md).
_TRACE_KEYED = _Field(_STRING, _TRACE_TEXT.comparators | NULL_COMPARATORS)

# --- per-kind vocabularies ------------------------------------------------------------------------

_RUN_PREFIXES = {
    "metric": KeyType.METRIC,
    "metrics": KeyType.METRIC,
    "param": KeyType.PARAM,
    "params": KeyType.PARAM,
    "parameter": KeyType.PARAM,
    "parameters": KeyType.PARAM,
    "tag": KeyType.TAG,
    "tags": KeyType.TAG,
    "attribute": KeyType.ATTRIBUTE,
    "attributes": KeyType.ATTRIBUTE,
    "attr": KeyType.ATTRIBUTE,
    "run": KeyType.ATTRIBUTE,
    "dataset": KeyType.DATASET,
    "datasets": KeyType.DATASET,
}
_REGISTRY_PREFIXES = {"attribute": KeyType.ATTRIBUTE, "tag": KeyType.TAG, "tags": KeyType.TAG}
_LOGGED_MODEL_PREFIXES = {
    "attributes": KeyType.ATTRIBUTE,
    "metrics": KeyType.METRIC,
    "params": KeyType.PARAM,
    "tags": KeyType.TAG,
}
_TRACE_PREFIXES = {
    "tag": KeyType.TAG,
    "tags": KeyType.TAG,
    "attribute": KeyType.ATTRIBUTE,
    "attributes": KeyType.ATTRIBUTE,
    "trace": KeyType.ATTRIBUTE,
    "request_metadata": KeyType.METADATA,
    "metadata": KeyType.METADATA,
}
# MLflow's trace filters on spans, assessments and issues: valid MLflow, not offered by our stores.
_UNSUPPORTED_TRACE_PREFIXES = frozenset({"span", "feedback", "expectation", "issue"})
_UNSUPPORTED_TRACE_ATTRIBUTES = frozenset({"text", "prompt"})
_PREFIXES: dict[SearchKind, dict[str, KeyType]] = {
    SearchKind.RUNS: _RUN_PREFIXES,
    SearchKind.EXPERIMENTS: _REGISTRY_PREFIXES,
    SearchKind.REGISTERED_MODELS: _REGISTRY_PREFIXES,
    SearchKind.MODEL_VERSIONS: _REGISTRY_PREFIXES,
    SearchKind.LOGGED_MODELS: _LOGGED_MODEL_PREFIXES,
    SearchKind.TRACES: _TRACE_PREFIXES,
}

# Attribute aliases -> canonical attribute key.
_ATTRIBUTE_ALIASES: dict[SearchKind, dict[str, str]] = {
    SearchKind.RUNS: {
        "created": "start_time",
        "Created": "start_time",
        "run name": "run_name",
        "Run name": "run_name",
        "Run Name": "run_name",
    },
    SearchKind.LOGGED_MODELS: {
        "creation_time": "creation_timestamp",
        "creation_timestamp_ms": "creation_timestamp",
        "last_updated_time": "last_updated_timestamp",
        "last_updated_timestamp_ms": "last_updated_timestamp",
    },
    SearchKind.TRACES: {
        "timestamp": "timestamp_ms",
        "execution_time": "execution_time_ms",
        "end_time": "end_time_ms",
    },
}

_RUN_ATTRIBUTES = {
    "run_id": _STRING_WITH_LIST,
    "run_name": _STRING_ONLY,
    "status": _STRING_ONLY,
    "user_id": _STRING_ONLY,
    "artifact_uri": _STRING_ONLY,
    "start_time": _Field(_NUMBER, NUMERIC_COMPARATORS),
    "end_time": _Field(_NUMBER, NUMERIC_COMPARATORS),
}
_EXPERIMENT_ATTRIBUTES = {
    "name": _STRING_ONLY,
    "experiment_id": _Field(_EXPERIMENT_ID, frozenset({C.EQ, C.NE}) | LIST_COMPARATORS),
    "creation_time": _Field(_INTEGER, NUMERIC_COMPARATORS),
    "last_update_time": _Field(_INTEGER, NUMERIC_COMPARATORS),
}
_REGISTERED_MODEL_ATTRIBUTES = {"name": _STRING_WITH_LIST}
_MODEL_VERSION_ATTRIBUTES = {
    "name": _STRING_WITH_LIST,
    "run_id": _STRING_WITH_LIST,
    "source_path": _STRING_ONLY,
    "version_number": _Field(_VERSION, NUMERIC_COMPARATORS),
}
_LOGGED_MODEL_ATTRIBUTES = {
    "name": _STRING_WITH_LIST,
    "model_id": _STRING_WITH_LIST,
    "experiment_id": _STRING_WITH_LIST,
    "model_type": _STRING_WITH_LIST,
    "status": _STRING_WITH_LIST,
    "source_run_id": _STRING_WITH_LIST,
    "creation_timestamp": _Field(_NUMBER, NUMERIC_COMPARATORS),
    "last_updated_timestamp": _Field(_NUMBER, NUMERIC_COMPARATORS),
}
# Trace attributes. ``name`` is the ``mlflow.traceName`` tag and ``run_id`` the
# ``mlflow.sourceRun`` metadata, as in MLflow; they keep their attribute name in the AST.
_TRACE_ATTRIBUTES = {
    "request_id": _TRACE_TEXT,
    "client_request_id": _TRACE_TEXT,
    "status": _TRACE_TEXT,
    "name": _TRACE_KEYED,
    "run_id": _TRACE_KEYED,
    "timestamp_ms": _Field(_NUMBER, NUMERIC_COMPARATORS),
    "execution_time_ms": _Field(_NUMBER, NUMERIC_COMPARATORS),
    "end_time_ms": _Field(_NUMBER, NUMERIC_COMPARATORS),
}
_ATTRIBUTES: dict[SearchKind, dict[str, _Field]] = {
    SearchKind.RUNS: _RUN_ATTRIBUTES,
    SearchKind.EXPERIMENTS: _EXPERIMENT_ATTRIBUTES,
    SearchKind.REGISTERED_MODELS: _REGISTERED_MODEL_ATTRIBUTES,
    SearchKind.MODEL_VERSIONS: _MODEL_VERSION_ATTRIBUTES,
    SearchKind.LOGGED_MODELS: _LOGGED_MODEL_ATTRIBUTES,
    SearchKind.TRACES: _TRACE_ATTRIBUTES,
}

DATASET_KEYS = ("name", "digest", "context")
_DATASET_FIELD = _Field(_STRING, STRING_COMPARATORS | LIST_COMPARATORS)

# Keys each kind can order by (canonical names); aliases resolve through _ORDER_ALIASES.
_ORDER_ATTRIBUTES: dict[SearchKind, frozenset[str]] = {
    SearchKind.RUNS: frozenset(
        {"artifact_uri", "end_time", "run_id", "run_name", "start_time", "status", "user_id"}
    ),
    SearchKind.EXPERIMENTS: frozenset({"name", "experiment_id", "creation_time", "last_update_time"}),
    SearchKind.REGISTERED_MODELS: frozenset({"name", "last_updated_timestamp"}),
    SearchKind.MODEL_VERSIONS: frozenset(
        {"name", "version_number", "creation_timestamp", "last_updated_timestamp"}
    ),
    SearchKind.LOGGED_MODELS: frozenset(_LOGGED_MODEL_ATTRIBUTES),
    SearchKind.TRACES: frozenset(
        {
            "experiment_id",
            "timestamp_ms",
            "execution_time_ms",
            "end_time_ms",
            "status",
            "request_id",
            "name",
            "run_id",
        }
    ),
}
_ORDER_ALIASES: dict[SearchKind, dict[str, str]] = {
    SearchKind.RUNS: {"created": "start_time", "Created": "start_time"},
    # MLflow orders registered models by "timestamp" as by last_updated_timestamp.
    SearchKind.REGISTERED_MODELS: {"timestamp": "last_updated_timestamp"},
    SearchKind.LOGGED_MODELS: _ATTRIBUTE_ALIASES[SearchKind.LOGGED_MODELS],
    SearchKind.TRACES: _ATTRIBUTE_ALIASES[SearchKind.TRACES],
}


# Bounds on one filter, far above what people write (MLflow's own SQL store fails past 63
# clauses on SQLite) yet low enough that every store answers in bounded time: SQL builds one
# condition per key group (Filter.groups), and each listed value is a bind parameter (SQLite
# takes at most 32,766 per statement).
MAX_FILTER_LENGTH = 100_000
MAX_FILTER_COMPARISONS = 1_000
MAX_FILTER_KEYS = 100
MAX_FILTER_VALUES = 10_000
# Each order_by key is an outer join in SQL (SQLite crashes past about 35 of them) and two sort
# fields in MongoDB (a sort takes at most 32, the tie-breakers included).
MAX_ORDER_BY = 15


def _error(message: str) -> InvalidParameterValue:
    return InvalidParameterValue(message)


def _invalid_clause(kind: SearchKind, source: str, detail: str) -> InvalidParameterValue:
    """A filter outside the grammar, opening with MLflow's sentence for the kind (its store tests
    and users match on it): the logged-model grammar says "Invalid filter string", the others
    "Invalid clause(s) in filter string"; ``detail`` says what is wrong where ("" for nothing
    more than the logged-model sentence says)."""
    if kind is SearchKind.LOGGED_MODELS:
        more = f" {detail[0].upper()}{detail[1:]}" if detail else ""
        return _error(
            f"Invalid filter string: {source!r}. Expected a list of comparisons separated by 'AND' "
            f"(e.g. 'metrics.loss > 0.1 AND params.lr = 0.01').{more}"
        )
    return _error(f"Invalid clause(s) in filter string: {detail}")


def _unparsable_clause(kind: SearchKind, source: str, clause: Sequence[Token]) -> InvalidParameterValue:
    """A comparison MLflow's SQL tokenizer cannot read as one (its value a keyword: TRUE, FALSE),
    listed token by token as MLflow lists it: quoted for runs and traces, bare for the others."""
    if kind is SearchKind.LOGGED_MODELS:
        listed = ""
    elif kind in (SearchKind.RUNS, SearchKind.TRACES):
        listed = ", ".join(repr(t.text) for t in clause)
    else:
        listed = ", ".join(t.text for t in clause)
    return _invalid_clause(kind, source, listed)


def _strip_quotes(text: str) -> str:
    """MLflow's key unquoting: one pair of '…' or "…", then one pair of backticks."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1]
    if len(text) >= 2 and text[0] == text[-1] == "`":
        text = text[1:-1]
    return text


def _split_identifier(kind: SearchKind, token: Token) -> tuple[str | None, str]:
    """``(prefix or None, raw key)`` for a key token.

    Like MLflow, the split is at the first dot: ``tags.mlflow.runName`` is the tag
    ``mlflow.runName``. A bare double-quoted or backticked key is an attribute name.
    """
    if token.kind is TokenKind.STRING:
        # A double-quoted bare key ("run name"); a single-quoted one is a value, not a key.
        if token.text.startswith("'"):
            raise _error(f"Invalid comparison clause: expected a key, found the string {token.text}")
        return None, token.text
    parts = token.parts
    if len(parts) == 1:
        return None, parts[0].raw
    head = parts[0]
    rest: tuple[IdentPart, ...] = parts[1:]
    if head.quote == "`" and kind is SearchKind.RUNS:
        prefix = head.text
    elif head.quote:
        prefix = head.raw
    else:
        prefix = head.text
    return prefix, ".".join(p.raw for p in rest)


def _resolve_key(kind: SearchKind, token: Token, *, for_order_by: bool = False) -> tuple[KeyType, str]:
    prefix, raw_key = _split_identifier(kind, token)
    if prefix is None:
        key_type = KeyType.ATTRIBUTE
    else:
        prefixes = _PREFIXES[kind]
        if kind is SearchKind.TRACES and prefix in _UNSUPPORTED_TRACE_PREFIXES:
            raise NotSupported(
                f"Trace filters on '{prefix}.' are not supported by this store (Genesis-Flow); "
                "filter on attributes, tags. or metadata."
            )
        if prefix not in prefixes:
            raise _error(f"Invalid entity type '{prefix}'. Valid values are {sorted(set(prefixes))}")
        key_type = prefixes[prefix]
    registry = kind in (SearchKind.REGISTERED_MODELS, SearchKind.MODEL_VERSIONS)
    if key_type is KeyType.ATTRIBUTE and registry and not for_order_by:
        # MLflow checks a registry filter's attribute name before unquoting it: `"name" = 'x'`
        # is rejected (its order_by unquotes first).
        key = raw_key
    else:
        key = _strip_quotes(raw_key)
    if key_type is KeyType.ATTRIBUTE:
        aliases = (_ORDER_ALIASES if for_order_by else _ATTRIBUTE_ALIASES).get(kind, {})
        key = aliases.get(key, key)
        if kind is SearchKind.TRACES and key in _UNSUPPORTED_TRACE_ATTRIBUTES:
            raise NotSupported(f"Trace filters on '{key}' are not supported by this store (Genesis-Flow).")
    return key_type, key


def _field_for(kind: SearchKind, key_type: KeyType, key: str) -> _Field:
    if key_type is KeyType.ATTRIBUTE:
        attributes = _ATTRIBUTES[kind]
        if key not in attributes:
            valid = ", ".join(map(repr, sorted(set(attributes) | set(_ATTRIBUTE_ALIASES.get(kind, {})))))
            # MLflow prints a set ('{'name'}'), which its store tests match on; sorted here.
            raise _error(f"Invalid attribute key '{key}' specified. Valid keys are '{{{valid}}}'")
        return attributes[key]
    if key_type is KeyType.DATASET:
        if key not in DATASET_KEYS:
            raise _error(f"Invalid dataset key '{key}' specified. Valid keys are {list(DATASET_KEYS)}")
        return _DATASET_FIELD
    if key_type is KeyType.METRIC:
        return _METRIC
    if kind is SearchKind.TRACES:
        return _TRACE_TAG
    if kind in (SearchKind.RUNS, SearchKind.EXPERIMENTS):
        return _PARAM_OR_TAG
    if kind is SearchKind.LOGGED_MODELS:
        return _STRING_WITH_LIST
    return _REGISTRY_TAG


def _describe(key_type: KeyType, key: str) -> str:
    # MLflow names a param "parameter" in its messages.
    return f"{'parameter' if key_type is KeyType.PARAM else key_type.value} '{key}'"


# --- values ---------------------------------------------------------------------------------------


def _parse_number(token: Token, *, as_float: bool) -> float | int:
    try:
        if not as_float and is_integer_literal(token.text):
            return _long(int(token.text), token.text)
        value = float(token.text)
    except (ValueError, OverflowError):
        raise _error(f"Invalid numeric value {token.text}") from None
    return value


def _long(value: int, text: str) -> int:
    # Integer columns and fields are 64-bit on every backend; a larger literal would reach the
    # driver as an OverflowError.
    if not is_long(value):
        raise _error(f"Invalid numeric value {text}: outside the 64-bit integer range")
    return value


def _parse_list(tokens: Sequence[Token], source: str) -> tuple[str, ...]:
    """Items of ``( 'a', "b", ... )`` as MLflow reads them (Python string-literal rules)."""
    if not tokens:
        raise _error(
            "While parsing a list in the query, expected a non-empty list of string values, "
            "but got empty list"
        )
    for token in tokens:
        # Numbers are read too, so that a list of them is refused in MLflow's words below.
        if token.kind not in (TokenKind.STRING, TokenKind.NUMBER, TokenKind.COMMA):
            raise _error(
                "While parsing a list in the query, expected a non-empty list of quoted string values, "
                f"found {token.text!r}"
            )
    text = "(" + " ".join(t.text for t in tokens) + ("" if tokens[-1].kind is TokenKind.COMMA else ",") + ")"
    try:
        parsed = ast.literal_eval(text)
    except Exception:  # SyntaxError, ValueError, MemoryError...: all mean an ill-formed list
        raise _error(
            "While parsing a list in the query, expected a non-empty list of string values, "
            f"but got ill-formed list: {source}"
        ) from None
    if not isinstance(parsed, tuple) or not all(isinstance(item, str) for item in parsed):
        raise _error(
            "While parsing a list in the query, expected string value, punctuation, or whitespace, "
            f"but got different type in list: {parsed}"
        )
    return parsed


def _canonical_experiment_id(text: str) -> str:
    try:
        return str(int(text))
    except ValueError:
        raise _error(f"Invalid experiment ID '{text}'. Experiment ID must be a valid integer.") from None


def _convert_value(
    kind: SearchKind,
    key_type: KeyType,
    key: str,
    field: _Field,
    comparator: Comparator,
    value_tokens: Sequence[Token],
    list_tokens: Sequence[Token] | None,
    source: str,
) -> Value:
    what = _describe(key_type, key)
    if list_tokens is not None and field.value_kind in (_FLOAT, _NUMBER, _INTEGER, _VERSION):
        if field.value_kind == _VERSION:
            raise _error(f"Only {_list_keys(kind)} support comparison with a list of quoted string values")
        listed = "(" + " ".join(t.text for t in list_tokens) + ")"
        raise _error(f"Expected numeric value type for {what}. Found {listed}")
    if list_tokens is not None:
        if comparator not in LIST_COMPARATORS:
            raise _error(f"Invalid comparison clause for {what}: a list value needs IN or NOT IN")
        if not (field.comparators & LIST_COMPARATORS):
            supported = _list_keys(kind)
            raise _error(
                f"Only {supported} support comparison with a list of quoted string values; got {what}"
            )
        items = _parse_list(list_tokens, source)
        if field.value_kind == _EXPERIMENT_ID:
            items = tuple(_canonical_experiment_id(i) for i in items)
        return items
    if comparator in LIST_COMPARATORS:
        raise _invalid_clause(
            kind, source, f"{comparator.value} needs a parenthesised list of quoted strings, e.g. ('a', 'b')"
        )
    (token,) = value_tokens
    kind_ = field.value_kind
    if kind_ in (_FLOAT, _NUMBER, _INTEGER):
        if token.kind is not TokenKind.NUMBER:
            raise _error(f"Expected numeric value type for {what}. Found {token.text}")
        if kind_ == _INTEGER and not is_integer_literal(token.text):
            raise _error(f"Invalid value for numeric attribute '{key}': '{token.text}'")
        return _parse_number(token, as_float=kind_ == _FLOAT)
    if kind_ == _VERSION:
        if token.kind is TokenKind.NUMBER and is_integer_literal(token.text):
            return _long(int(token.text), token.text)
        if token.kind is TokenKind.STRING:
            text = token.text[1:-1]
            try:
                number = int(text)
            except ValueError:
                pass
            else:
                return _long(number, text)
        shown = token.text[1:-1] if token.kind is TokenKind.STRING else token.text
        raise _error(f"Invalid value for numeric attribute '{key}': '{shown}'")
    # Quoted string values.
    if token.kind is not TokenKind.STRING:
        if token.kind is TokenKind.NUMBER:
            raise _error(
                f"Expected a quoted string value for {what} (e.g. 'my-value'). Got value {token.text}"
            )
        raise _error(
            "Parameter value is either not quoted or unidentified quote types used for string value "
            f"{token.text}. Use either single or double quotes."
        )
    text = token.text[1:-1]
    if kind_ == _EXPERIMENT_ID:
        return _canonical_experiment_id(text)
    return text


def _list_keys(kind: SearchKind) -> list[str]:
    return sorted(k for k, f in _ATTRIBUTES[kind].items() if f.comparators & LIST_COMPARATORS)


# --- the filter parser ----------------------------------------------------------------------------


class _Cursor:
    def __init__(self, kind: SearchKind, tokens: list[Token], source: str) -> None:
        self.kind = kind
        self.tokens = tokens
        self.i = 0
        self.source = source

    def peek(self, offset: int = 0) -> Token | None:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def next(self, expected: str) -> Token:
        token = self.peek()
        if token is None:
            where = f"{self.source!r} ends where {expected} was expected"
            raise _invalid_clause(self.kind, self.source, where)
        self.i += 1
        return token

    def is_keyword(self, word: str, offset: int = 0) -> bool:
        token = self.peek(offset)
        return token is not None and token.kind is TokenKind.KEYWORD and token.upper == word


def _comparator(cursor: _Cursor) -> Comparator:
    token = cursor.next("a comparator")
    if token.kind is TokenKind.OP:
        if token.text in ("==", "<>"):
            raise _error(f"Invalid comparator '{token.text}'; use '=' or '!='")
        return Comparator(token.text)
    if token.kind is TokenKind.KEYWORD:
        word = token.upper
        if word in ("LIKE", "ILIKE", "RLIKE", "IN"):
            return Comparator(word)
        if word == "NOT":
            following = cursor.next("IN after NOT")
            if following.kind is TokenKind.KEYWORD and following.upper == "IN":
                return Comparator.NOT_IN
            raise _error(f"Invalid comparator 'NOT {following.text}'")
        if word == "IS":
            following = cursor.next("NULL or NOT NULL after IS")
            if following.kind is TokenKind.KEYWORD and following.upper == "NULL":
                return Comparator.IS_NULL
            if following.kind is TokenKind.KEYWORD and following.upper == "NOT":
                last = cursor.next("NULL after IS NOT")
                if last.kind is TokenKind.KEYWORD and last.upper == "NULL":
                    return Comparator.IS_NOT_NULL
                raise _error(f"Invalid comparator 'IS NOT {last.text}'")
            raise _error(f"Invalid comparator 'IS {following.text}'")
    raise _invalid_clause(cursor.kind, cursor.source, f"expected a comparator, found {token.text!r}")


def _parse_comparison(kind: SearchKind, cursor: _Cursor) -> Comparison:
    first = cursor.i
    key_token = cursor.next("a key")
    if key_token.kind is TokenKind.LPAREN:
        where = f"{cursor.source!r}: parentheses are not supported; join comparisons with AND"
        raise _invalid_clause(kind, cursor.source, where)
    if key_token.kind not in (TokenKind.IDENT, TokenKind.STRING):
        raise _invalid_clause(kind, cursor.source, f"expected a key, found {key_token.text!r}")
    after = cursor.peek(1)
    if after is not None and after.kind is TokenKind.IDENT and after.upper in ("TRUE", "FALSE"):
        raise _unparsable_clause(kind, cursor.source, cursor.tokens[first : first + 3])
    key_type, key = _resolve_key(kind, key_token)
    comparator = _comparator(cursor)
    field = _field_for(kind, key_type, key)
    what = _describe(key_type, key)
    if comparator in NULL_COMPARATORS:
        if comparator not in field.comparators:
            if kind is SearchKind.EXPERIMENTS:
                where = "tags"
            elif kind is SearchKind.RUNS:
                where = "tags and params"
            elif kind is SearchKind.TRACES:
                where = "tags, metadata, name and run_id"
            else:
                where = "no key"
            raise _error(f"IS NULL / IS NOT NULL is only supported for {where} here, not for {what}")
        return Comparison(key_type, key, comparator, None)
    value_tokens: list[Token] = []
    list_tokens: list[Token] | None = None
    start = cursor.next("a value")
    if start.kind is TokenKind.LPAREN:
        list_tokens = []
        while True:
            token = cursor.next("')' closing the list")
            if token.kind is TokenKind.RPAREN:
                break
            list_tokens.append(token)
    elif start.kind in (TokenKind.STRING, TokenKind.NUMBER, TokenKind.IDENT):
        value_tokens.append(start)
    else:
        raise _error(f"Invalid comparison clause for {what}: expected a value, found {start.text!r}")
    value = _convert_value(kind, key_type, key, field, comparator, value_tokens, list_tokens, cursor.source)
    if comparator not in field.comparators:
        allowed = ", ".join(sorted(c.value for c in field.comparators))
        raise _error(f"Invalid comparator '{comparator.value}' for {what}; expected one of: {allowed}")
    if comparator is C.RLIKE:
        regex(str(value))  # refused here rather than by whichever store runs it
    return Comparison(key_type, key, comparator, value)


def parse_filter(kind: SearchKind, text: str | None) -> Filter:
    """Parse an MLflow ``filter_string`` for ``kind`` into a :class:`Filter`.

    ``None`` and ``""`` give the empty filter (everything matches). A string of only whitespace
    is rejected, as MLflow rejects it. Keys are canonical in the result: prefixes and attribute
    aliases are resolved (``attr.created`` -> ``(ATTRIBUTE, "start_time")``), quotes around keys
    removed. Values: metrics -> ``float``; run times and logged-model timestamps -> ``int`` for
    integer literals (``float`` otherwise); experiment times and model version numbers -> ``int``;
    experiment ids -> canonical decimal strings; strings -> the raw text between the quotes;
    lists -> ``tuple[str, ...]``; ``IS [NOT] NULL`` -> ``None``.

    Raises:
        InvalidParameterValue: for anything outside the grammar or the kind's vocabulary: unknown
            entity prefix or attribute, a comparator the key does not support, a value of the
            wrong type, unterminated quotes, ``OR``, parentheses, trailing garbage; a filter
            beyond one of the limits (``MAX_FILTER_LENGTH`` characters, ``MAX_FILTER_COMPARISONS``
            comparisons, ``MAX_FILTER_KEYS`` key groups, ``MAX_FILTER_VALUES`` values), naming it.
    """
    if not isinstance(text, (str, type(None))):
        raise _error(f"Invalid filter {text!r}: expected a string")
    if not text:
        return Filter()
    if not text.strip():
        raise _error(f"Invalid filter '{text}'. Could not be parsed.")
    if len(text) > MAX_FILTER_LENGTH:
        raise _error(
            f"Invalid filter: {len(text)} characters, more than the limit of {MAX_FILTER_LENGTH} "
            "characters per filter"
        )
    tokens = tokenize(text)
    cursor = _Cursor(kind, tokens, text)
    comparisons: list[Comparison] = []
    values = 0
    while cursor.peek() is not None:
        if cursor.is_keyword("AND"):
            cursor.i += 1
            continue
        token = cursor.peek()
        assert token is not None
        if token.kind is TokenKind.KEYWORD and token.upper == "OR":
            raise _invalid_clause(kind, text, f"'OR'. Only AND is supported between comparisons: {text!r}")
        if len(comparisons) == MAX_FILTER_COMPARISONS:
            raise _error(
                f"Invalid filter: more than the limit of {MAX_FILTER_COMPARISONS} comparisons per filter"
            )
        comparison = _parse_comparison(kind, cursor)
        values += len(comparison.value) if isinstance(comparison.value, tuple) else 1
        if values > MAX_FILTER_VALUES:
            raise _error(f"Invalid filter: more than the limit of {MAX_FILTER_VALUES} values per filter")
        comparisons.append(comparison)
    parsed = Filter(tuple(comparisons))
    keys = len(parsed.groups(kind))
    if keys > MAX_FILTER_KEYS:
        raise _error(
            f"Invalid filter: {keys} distinct keys (or dataset comparisons), more than the limit of "
            f"{MAX_FILTER_KEYS} per filter"
        )
    return parsed


# --- order_by -------------------------------------------------------------------------------------


def _parse_order_clause(kind: SearchKind, clause: str) -> OrderBy:
    if not isinstance(clause, str):
        raise _error(f"Invalid order_by clause {clause!r}: expected a string")
    tokens = tokenize(clause)
    if not tokens or len(tokens) > 2 or tokens[0].kind not in (TokenKind.IDENT, TokenKind.STRING):
        raise _error(f"Invalid order_by clause '{clause}'. Could not be parsed.")
    ascending = True
    if len(tokens) == 2:
        direction = tokens[1]
        if direction.kind is not TokenKind.IDENT or direction.upper not in ("ASC", "DESC"):
            raise _error(f"Invalid ordering key in order_by clause '{clause}'.")
        ascending = direction.upper == "ASC"
    key_token = tokens[0]
    if kind is SearchKind.REGISTERED_MODELS:
        # MLflow takes the key verbatim here: no prefix, no quotes.
        raw = key_token.text
        parts = key_token.parts
        bare = key_token.kind is TokenKind.IDENT and len(parts) == 1 and not parts[0].quote
        key = _ORDER_ALIASES[kind].get(raw, raw) if bare else raw
        if key not in _ORDER_ATTRIBUTES[kind]:
            raise _error(
                f"Invalid order by key '{raw}' specified. Valid keys are "
                f"{sorted(_ORDER_ATTRIBUTES[kind] | set(_ORDER_ALIASES[kind]))}"
            )
        return OrderBy(KeyType.ATTRIBUTE, key, ascending)
    if kind is SearchKind.LOGGED_MODELS and key_token.kind is TokenKind.IDENT and len(key_token.parts) > 1:
        prefix = key_token.parts[0].raw
        if prefix != "metrics":
            raise _error(f"Invalid order by field name: {prefix}, only `metrics.<name>` is allowed.")
    key_type, key = _resolve_key(kind, key_token, for_order_by=True)
    if key_type is KeyType.ATTRIBUTE:
        valid = _ORDER_ATTRIBUTES[kind]
        if key not in valid:
            raise _error(
                f"Invalid attribute key '{key}' specified for order_by. Valid keys are "
                f"{sorted(valid | set(_ORDER_ALIASES.get(kind, {})))}"
            )
    elif kind is SearchKind.RUNS and key_type is KeyType.DATASET:
        raise _error("Invalid identifier type 'dataset' in order_by: datasets cannot be ordered by")
    elif kind in (SearchKind.EXPERIMENTS, SearchKind.MODEL_VERSIONS):
        raise _error(f"Invalid order_by entity: {key_type.value} (in '{clause}')")
    return OrderBy(key_type, key, ascending)


# Kinds whose SQL store rejects an order_by naming the same field twice.
_NO_DUPLICATES = frozenset(
    {SearchKind.RUNS, SearchKind.REGISTERED_MODELS, SearchKind.MODEL_VERSIONS, SearchKind.TRACES}
)


def parse_order_by(kind: SearchKind, clauses: Sequence[str] | None) -> tuple[OrderBy, ...]:
    """Parse MLflow ``order_by`` clauses (``"<key> [ASC|DESC]"``, direction case-insensitive).

    Keys use the filter's key syntax for ``kind`` and must be orderable there:

    * runs: ``metrics.*``, ``params.*``, ``tags.*`` and the attributes ``run_id``, ``run_name``,
      ``status``, ``user_id``, ``artifact_uri``, ``start_time`` (alias ``created``), ``end_time``;
    * experiments: ``name``, ``experiment_id``, ``creation_time``, ``last_update_time``;
    * registered models: ``name``, ``last_updated_timestamp`` (alias ``timestamp``), written bare;
    * model versions: ``name``, ``version_number``, ``creation_timestamp``, ``last_updated_timestamp``;
    * logged models: ``metrics.<key>`` and the attributes ``name``, ``model_id``, ``model_type``,
      ``status``, ``source_run_id``, ``creation_timestamp``, ``last_updated_timestamp``;
    * traces: ``tags.*``, ``metadata.*`` and the attributes ``experiment_id``, ``timestamp_ms``
      (alias ``timestamp``), ``execution_time_ms`` (``execution_time``), ``end_time_ms``
      (``end_time``), ``status``, ``request_id``, ``name``, ``run_id``.

    For runs, registered models and model versions, naming one field twice is rejected, as MLflow
    rejects it.

    Raises:
        InvalidParameterValue: unparsable clause, bad direction, unknown or non-orderable key,
            duplicate field.
    """
    if clauses is None:
        return ()
    if isinstance(clauses, str):
        raise _error(f"Invalid order_by {clauses!r}: expected a list of clauses, not one string")
    if len(clauses) > MAX_ORDER_BY:
        raise _error(f"Invalid order_by: {len(clauses)} clauses, more than the limit of {MAX_ORDER_BY}")
    parsed = tuple(_parse_order_clause(kind, clause) for clause in clauses)
    if kind in _NO_DUPLICATES:
        seen: set[tuple[KeyType, str]] = set()
        for order in parsed:
            field = (order.key_type, order.key)
            if field in seen:
                raise _error(f"`order_by` contains duplicate fields: {list(clauses)}")
            seen.add(field)
    return parsed
