"""Open data: privacy rules, the aggregates and the Open311 GeoReport v2 formatting."""
