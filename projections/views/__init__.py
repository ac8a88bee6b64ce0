"""View definitions: tables, what each decision changes, and the queries."""
