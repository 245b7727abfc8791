"""Errors a user can cause. The CLI prints them as one line and exits 1."""


class UserError(Exception):
    """A problem with the user's input (file, column, link, option), not a bug.

    The message is one line that says what is wrong and where.
    """


class WorkspaceLocked(UserError):
    """Another process holds the workspace's write lock."""
