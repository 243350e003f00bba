"""The pure domain: entities, value objects, errors, validation and the search language.

Imports only the standard library and attrs (enforced by import-linter). No clock, no ids, no
I/O: time and ids come in through the ports.

Imported as ``genesis_flow.core``.
"""
