"""One module (and one .sql file) per indicator, named by its code."""
