"""Bid-rigging screens (SQL over canonical bids) and the cartel classifier."""
