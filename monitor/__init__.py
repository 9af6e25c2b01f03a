"""account-health-monitor: warns Amazon sellers before a performance metric crosses its limit."""

__version__ = "0.1.0"
