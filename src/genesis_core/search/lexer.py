"""Tokenizer for MLflow's search-filter and order-by language.

Hand-written rather than built on ``sqlparse`` (which MLflow uses): the language is small, and a
tokenizer of our own gives one error class (:class:`InvalidParameterValue`) for every bad input and
no dependency in the domain. Where MLflow's tokenization has a visible effect, this one mirrors it:

* single- or double-quoted strings end at the first unescaped, undoubled matching quote; the value
  is the raw text between the quotes (MLflow never unescapes: ``'it''s'`` means ``it''s``);
* an identifier is a run of parts joined by ``.``: a part is a word (letters, digits, ``_``), a
  backtick-quoted name, or (after the first ``.``) a single- or double-quoted name;
* numbers are ``[-]digits[.digits][e[+-]digits]`` or ``[-].digits...``; ``+1`` and ``0x10`` are
  not numbers; a number glued to a word (``1and``) is an error;
* keywords (``AND``, ``OR``, ``LIKE``, ``ILIKE``, ``RLIKE``, ``IN``, ``NOT``, ``IS``, ``NULL``) are
  case-insensitive single-part words.
"""

from __future__ import annotations

import re
from enum import Enum

from attrs import frozen

from genesis_flow.core.errors import InvalidParameterValue
from genesis_flow.core.validation import text_problem


class TokenKind(Enum):
    IDENT = "identifier"
    STRING = "string"
    NUMBER = "number"
    OP = "operator"
    KEYWORD = "keyword"
    LPAREN = "("
    RPAREN = ")"
    COMMA = ","


KEYWORDS = frozenset({"AND", "OR", "LIKE", "ILIKE", "RLIKE", "IN", "NOT", "IS", "NULL"})

# Longest first, so "<=" wins over "<". "==" and "<>" are tokenized so the parser can name them.
_OPERATORS = ("!=", "<=", ">=", "<>", "==", "=", "<", ">")

_NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_WORD = re.compile(r"\w+")


@frozen
class IdentPart:
    """One dot-separated part of an identifier; ``quote`` is the quote character or ''."""

    text: str
    quote: str = ""

    @property
    def raw(self) -> str:
        return f"{self.quote}{self.text}{self.quote}"


@frozen
class Token:
    """A token: ``text`` is its source text; ``parts`` is set for identifiers only."""

    kind: TokenKind
    text: str
    pos: int
    parts: tuple[IdentPart, ...] = ()

    @property
    def upper(self) -> str:
        return self.text.upper()


def _error(source: str, message: str) -> InvalidParameterValue:
    return InvalidParameterValue(f"Invalid search expression {source!r}: {message}")


def _scan_quoted(source: str, start: int) -> int:
    """End index (exclusive) of the string or quoted name opening at ``start``.

    Strings (``'`` and ``"``) may contain a doubled quote or a backslash-escaped character;
    backtick names end at the next backtick.
    """
    quote = source[start]
    i = start + 1
    n = len(source)
    while i < n:
        ch = source[i]
        if quote != "`" and ch == "\\":
            i += 2
            continue
        if ch == quote:
            if quote != "`" and i + 1 < n and source[i + 1] == quote:
                i += 2
                continue
            return i + 1
        i += 1
    raise _error(source, f"unterminated quoted text starting at position {start}: {source[start:]!r}")


def _scan_identifier(source: str, start: int) -> tuple[int, tuple[IdentPart, ...]]:
    parts: list[IdentPart] = []
    i = start
    n = len(source)
    while True:
        ch = source[i] if i < n else ""
        if ch == "`" or (parts and ch in ("'", '"')):
            end = _scan_quoted(source, i)
            parts.append(IdentPart(source[i + 1 : end - 1], ch))
            i = end
        else:
            match = _WORD.match(source, i)
            if match is None:
                got = repr(ch) if ch else "the end of the expression"
                raise _error(source, f"expected a name after '.' at position {i}, found {got}")
            parts.append(IdentPart(match.group()))
            i = match.end()
        if i < n and source[i] == ".":
            i += 1
            continue
        if i < n and (source[i].isalnum() or source[i] in "_`'\""):
            raise _error(source, f"unexpected {source[i]!r} after name {source[start:i]!r} at position {i}")
        return i, tuple(parts)


def tokenize(source: str) -> list[Token]:
    """Split ``source`` into tokens, or raise :class:`InvalidParameterValue` naming the spot."""
    problem = text_problem(source)
    if problem is not None:
        # No stored key or value can hold such text, and a driver could not even encode it.
        raise _error(source, problem)
    tokens: list[Token] = []
    i = 0
    n = len(source)
    while i < n:
        ch = source[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "'\"":
            end = _scan_quoted(source, i)
            tokens.append(Token(TokenKind.STRING, source[i:end], i))
            i = end
            continue
        if ch == "(":
            tokens.append(Token(TokenKind.LPAREN, ch, i))
            i += 1
            continue
        if ch == ")":
            tokens.append(Token(TokenKind.RPAREN, ch, i))
            i += 1
            continue
        if ch == ",":
            tokens.append(Token(TokenKind.COMMA, ch, i))
            i += 1
            continue
        number = _NUMBER.match(source, i)
        if number is not None and (ch.isdigit() or ch in "-."):
            end = number.end()
            if end < n and (source[end].isalnum() or source[end] in "_.`'\""):
                raise _error(source, f"malformed number {source[i : end + 1]!r} at position {i}")
            tokens.append(Token(TokenKind.NUMBER, source[i:end], i))
            i = end
            continue
        op = next((o for o in _OPERATORS if source.startswith(o, i)), None)
        if op is not None:
            tokens.append(Token(TokenKind.OP, op, i))
            i += len(op)
            continue
        if ch == "`" or _WORD.match(source, i):
            end, parts = _scan_identifier(source, i)
            text = source[i:end]
            if len(parts) == 1 and not parts[0].quote and text.upper() in KEYWORDS:
                tokens.append(Token(TokenKind.KEYWORD, text, i))
            else:
                tokens.append(Token(TokenKind.IDENT, text, i, parts))
            i = end
            continue
        raise _error(source, f"unexpected character {ch!r} at position {i}")
    return tokens


def is_integer_literal(text: str) -> bool:
    """Whether a NUMBER token's text is an integer (no fraction, no exponent)."""
    return not any(c in text for c in ".eE")
