"""Registry extracts (civil registry, payroll, beneficiaries, voter roll, company register): mapping and ingest."""
