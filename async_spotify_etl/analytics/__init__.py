"""What the ``analytics`` extra serves: DuckDB loading and the HTML report."""
