"""The one exception type a stage turns into a one-line message and a non-zero exit."""


class FoldwiseError(Exception):
    """A problem with the user's input (params, table, column) that the user can fix.

    The message is one line and names the file, key or column and what was expected.
    """
