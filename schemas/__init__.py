"""Shared contracts: the service catalog, requests, lifecycle and the events on the bus."""
