"""A pull directory on disk: its layout, the sink, the journal, the reader, the manifest."""
