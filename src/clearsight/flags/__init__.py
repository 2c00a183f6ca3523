"""Red-flag indicators: registry, profiles, SQL per indicator, runs and results."""
