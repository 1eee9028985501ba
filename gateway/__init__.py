"""The HTTP front door: accepts jobs, publishes their events, and reports their status."""
