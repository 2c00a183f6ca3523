"""Supplier networks: co-bidding and shared-identifier links, communities, suspicious groups, GraphML export."""
