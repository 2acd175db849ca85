"""Package indexes: pip configuration, HTTP, PEP 503/691 pages, find-links and file:// sources."""
