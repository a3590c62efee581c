"""Notifier: groups and their filters, matching, rendered alerts, deliveries through apprise."""
