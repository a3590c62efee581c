"""tenderwatch: watch French public procurement for social clauses (insertion, reserved contracts)."""

__version__ = "0.1.0"
