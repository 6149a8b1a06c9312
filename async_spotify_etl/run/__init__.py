"""A whole pull into a directory: engine, sink, manifest and progress, and how it ends."""
