"""Command-line interface (``harmscope``)."""
