"""Bridges to other tools, above the library's layers: nothing in the library imports them."""
