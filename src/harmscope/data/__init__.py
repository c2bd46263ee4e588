"""Dataset loaders -> PromptRecord (placeholder: being written)."""
