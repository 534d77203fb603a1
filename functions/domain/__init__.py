"""The domains: requests, citizens, agencies and open data, each with its typed records, the
one store of each table it owns, and its services (the use cases handlers call)."""
