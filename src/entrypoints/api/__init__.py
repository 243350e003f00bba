"""The MLflow-compatible API: fluent functions, MlflowClient, entities and exceptions."""
