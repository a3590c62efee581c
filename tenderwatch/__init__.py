"""tenderwatch: watch French public procurement for social clauses and reserved contracts."""

__version__ = "0.1.0"
