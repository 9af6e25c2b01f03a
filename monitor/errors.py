"""One exception tree for the whole monitor.

    MonitorError                  exit code 1: the work failed
    ├── ConfigError               exit code 2: a setting is missing or invalid
    ├── UsageError                exit code 2: the command was called wrongly
    ├── DatabaseNotReady          exit code 2: run `account-health init` first
    └── FileRejected              exit code 1: a report file cannot be read at all

Every error carries a one-line message meant for the user; the CLI prints it
without a traceback (unless --debug).
"""

from __future__ import annotations


class MonitorError(Exception):
    """Base of every error the monitor raises on purpose."""

    exit_code = 1


class ConfigError(MonitorError):
    """A setting is missing or invalid."""

    exit_code = 2


class UsageError(MonitorError):
    """A command was called with arguments that cannot work."""

    exit_code = 2


class DatabaseNotReady(MonitorError):
    """The database has not been created or is behind the code's migrations."""

    exit_code = 2


class FileRejected(MonitorError):
    """A whole file cannot be imported (unknown format, binary, bad encoding...)."""
