"""Beneficial ownership: BODS statements (and, later, entity lists) in the warehouse."""
