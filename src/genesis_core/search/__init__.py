"""MLflow's search-filter and order-by language: parse once into a frozen AST.

* :func:`parse_filter` / :func:`parse_order_by`: text -> AST (:mod:`.ast`), per :class:`SearchKind`;
* :func:`matches` / :func:`sort`: the reference semantics on domain entities (the memory adapter
  uses them; the SQL and Mongo adapters compile the AST to give the same answers);
* :func:`resolve_max_results` (:func:`require_max_results`), :func:`query_fingerprint`,
  :func:`paginate` and the page-token codec: limits and opaque, query-bound page tokens.

Imported as ``genesis_flow.core.search``.
"""

from genesis_flow.core.registry import IS_PROMPT_TAG
from genesis_flow.core.search.ast import (
    Comparator,
    Comparison,
    Filter,
    KeyGroup,
    KeyType,
    OrderBy,
    SearchKind,
)
from genesis_flow.core.search.evaluate import (
    RunValues,
    clamp,
    complete_order,
    like,
    matcher,
    matches,
    prompt_scope,
    sort,
    unknown_key,
)
from genesis_flow.core.search.paging import (
    DEFAULT_MAX_RESULTS,
    MAX_MAX_RESULTS,
    decode_page_token,
    encode_page_token,
    page_after,
    paginate,
    query_fingerprint,
    require_max_results,
    resolve_max_results,
)
from genesis_flow.core.search.parser import (
    MAX_FILTER_COMPARISONS,
    MAX_FILTER_KEYS,
    MAX_FILTER_LENGTH,
    MAX_FILTER_VALUES,
    MAX_ORDER_BY,
    parse_filter,
    parse_order_by,
)

__all__ = [
    "DEFAULT_MAX_RESULTS",
    "IS_PROMPT_TAG",
    "MAX_FILTER_COMPARISONS",
    "MAX_FILTER_KEYS",
    "MAX_FILTER_LENGTH",
    "MAX_FILTER_VALUES",
    "MAX_MAX_RESULTS",
    "MAX_ORDER_BY",
    "Comparator",
    "Comparison",
    "Filter",
    "KeyGroup",
    "KeyType",
    "OrderBy",
    "RunValues",
    "SearchKind",
    "clamp",
    "complete_order",
    "decode_page_token",
    "encode_page_token",
    "like",
    "matcher",
    "matches",
    "page_after",
    "paginate",
    "parse_filter",
    "parse_order_by",
    "prompt_scope",
    "query_fingerprint",
    "require_max_results",
    "resolve_max_results",
    "sort",
    "unknown_key",
]
