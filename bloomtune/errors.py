"""Errors a user can act on (bad params, a missing or bad input, a failed download or search),
every one of them here.

A stage shows them as one line; any other exception is a bug: one line, and its traceback in the
job's log."""


class UserError(Exception):
    """The message is one line naming the key, file or URL to fix."""


class ParamsError(UserError, ValueError):
    """A parameter value is wrong; the message is one line naming the key."""


class DataError(UserError, ValueError):
    """An input file holds something bloomtune cannot use."""


class BadImageError(DataError):
    """An input image cannot be used (unreadable, or over the pixel limit)."""

    def __init__(self, path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.reason = reason


class DownloadError(UserError, RuntimeError):
    """A file could not be fetched or verified; the message is one line naming the URL."""


class WeightsMissing(UserError, FileNotFoundError):
    """The pretrained weights file is not where the weights stage puts it."""


class NoSpaceError(UserError, OSError):
    """The disk filled up; the message names where. The work so far is kept for a rerun."""


class TuningError(UserError, RuntimeError):
    """The search could not produce a usable result."""


class ModelTooLargeError(ValueError):
    """The hyperparameters give a model over the parameter limit (a trial that raises it is
    recorded failed, "too large"; the search goes on)."""


class TabulatedFailure(Exception):
    """A replayed configuration failed when it was tabulated (too large, out of memory, ...):
    the replayed trial fails with the same reason, `reason`, as its ledger's."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def failure_reason(exc: BaseException) -> str:
    """The ledger's one-line reason for a trial that raised `exc` (a replayed failure carries
    the reason it was tabulated with)."""
    if isinstance(exc, TabulatedFailure):
        return exc.reason
    if isinstance(exc, ModelTooLargeError):
        return f"too large: {exc}"
    if isinstance(exc, MemoryError) or "ResourceExhausted" in type(exc).__name__:
        return f"out of memory: {type(exc).__name__}: {exc}"
    return f"{type(exc).__name__}: {exc}"
