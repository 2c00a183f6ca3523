"""Reading OCDS (and later registry) files into the canonical warehouse tables, accounting for every record."""
