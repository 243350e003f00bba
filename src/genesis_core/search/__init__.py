"""MLflow's search-filter and order-by language: parse once into a frozen AST."""
