"""Entry points: the composition root, the MLflow-compatible API, the MLflow plugin and the CLI.

Imported as ``genesis_flow.entrypoints``.
"""
