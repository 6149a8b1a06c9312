"""The pull engine: what to request (endpoints, plan), listings, dedupe and expansion."""
