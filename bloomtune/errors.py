"""Errors a user can act on (bad params, a missing or bad input, a failed download or search).

A stage shows them as one line; any other exception is a bug: one line, and its traceback in the
job's log."""


class UserError(Exception):
    """The message is one line naming the key, file or URL to fix."""


class DataError(UserError, ValueError):
    """An input file holds something bloomtune cannot use."""
