"""The errors that cross layers, in one module every layer may import (index is the bottom).

Each is a ``PolicyChatError`` whose message is one line a user can read; ``exit_code`` is what
the CLI returns for it (2: the user can fix the input or the configuration).
"""
from __future__ import annotations


class PolicyChatError(Exception):
    """A failure with a one-line message meant for the user (the CLI prints it as is)."""

    exit_code = 1


class SettingError(PolicyChatError, ValueError):
    """A setting from the environment or a flag that cannot be used (a configuration mistake)."""

    exit_code = 2


class UserError(PolicyChatError):
    """An input the user can fix (a missing file, an out-of-range option)."""

    exit_code = 2


class InvalidQuestion(PolicyChatError, ValueError):
    """A question that cannot be answered as given; the message says why, in one line."""


class QuestionTooLong(InvalidQuestion):
    """A question over the length limit (the API answers 413 rather than 422)."""


class UnknownPolicy(PolicyChatError, ValueError):
    """A policy id that is not in the index (the message lists the known ones)."""


class StoreUnavailable(PolicyChatError):
    """The Chroma store cannot be reached, opened or read; the only store error callers see."""


class LoadError(PolicyChatError):
    """A file that cannot become a policy; the message is one line for the user."""


class GenerationFailed(PolicyChatError):
    """The model failed, timed out or produced nothing usable: use the extractive answer."""


class VersionError(PolicyChatError, ValueError):
    """A version request that cannot be compared (one version only, the same version twice)."""


class UnknownVersion(VersionError):
    """A version label the policy does not have."""


class NoLabelError(PolicyChatError, LookupError):
    """A policy version with no citation units to label."""
