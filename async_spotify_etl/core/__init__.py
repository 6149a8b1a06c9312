"""The foundation every layer stands on: errors, ids, market codes, settings, shared types
and atomic file writes."""
