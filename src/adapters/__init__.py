"""Adapters: one sub-package per technology, each implementing the ports. Never import each other
(the Cosmos adapter may build on the Mongo one) nor the entry points.

Imported as ``genesis_flow.adapters``.
"""
