"""The errors that cross layers, in one module every layer may import (index is the bottom).

Each is a ``PolicyChatError`` whose message is one line a user can read; ``exit_code`` is what
the CLI returns for it (2: the user can fix the input or the configuration).
"""
from __future__ import annotations


class PolicyChatError(Exception):
    """A failure with a one-line message meant for the user (the CLI prints it as is)."""

    exit_code = 1


class UserError(PolicyChatError):
    """An input the user can fix (a missing file, an out-of-range option)."""

    exit_code = 2
