"""Spiders, one per source, named by geography and system (``france_boamp``, ``europe_ted``)."""
