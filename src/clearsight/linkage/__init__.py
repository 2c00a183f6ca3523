"""Record linkage: deduplicate one list of people or match two, with Splink (Fellegi–Sunter, EM), explained.

- `prepare`: canonical registry fields → comparable columns (names transliterated, nicknames resolved, dates as
  ISO text, identifiers and phones reduced to their characters);
- `model`: comparisons, blocking rules, training, prediction, clustering and per-field explanations;
- `encode`: keyed Bloom-filter encodings for privacy-preserving linkage;
- `registries`: the standard linkages between the registries of one dataset, written to `registry_links`;
- `files`: `clearsight link dedupe/pair` on any CSV or Parquet file through a mapping.
"""
