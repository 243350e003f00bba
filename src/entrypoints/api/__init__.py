"""The MLflow-compatible API: fluent functions, MlflowClient, entities and exceptions.

Imported as ``genesis_flow.entrypoints.api``.
"""
