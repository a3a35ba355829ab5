"""One error hierarchy: every failure neodyme reports is a `NeodymeError`.

`exit_code` follows the CLI contract: 1 the operation failed, 2 bad usage or bad input.
`hint` says what the user can do about it.
"""

from collections.abc import Sequence
from pathlib import Path


class NeodymeError(Exception):
    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class BadInputError(NeodymeError):
    """The user asked for something that cannot be done as asked."""

    exit_code = 2


class InvalidProjectNameError(BadInputError):
    pass


class UnknownModuleError(BadInputError):
    pass


class NotAProjectError(BadInputError):
    pass


class DestinationNotEmptyError(NeodymeError):
    pass


class DirtyWorkingTreeError(NeodymeError):
    pass


class GitError(NeodymeError):
    pass


class TemplateError(NeodymeError):
    """Copier could not render or update the project."""


class MergeConflictError(NeodymeError):
    """`add` finished, but some files hold conflict markers to resolve by hand."""

    def __init__(self, files: Sequence[Path]) -> None:
        self.files = tuple(files)
        listing = ", ".join(str(path) for path in self.files)
        super().__init__(
            f"Your edits and the module changed the same lines in: {listing}",
            hint="Resolve the <<<<<<< / >>>>>>> markers in those files, "
            "then commit: git add -A && git commit",
        )
