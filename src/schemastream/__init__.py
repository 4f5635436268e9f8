"""schemastream."""
