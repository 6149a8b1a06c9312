"""The foundation every layer stands on: errors, ids, market codes and settings."""
