"""One error hierarchy: every failure neodyme reports is a `NeodymeError`.

`exit_code` follows the CLI contract: 1 the operation failed, 2 bad usage or bad input.
`hint` says what the user can do about it. The one other exception the library raises is
`KeyboardInterrupt`, and its subclass `InterruptedAfterMerge` when a Ctrl-C came too late
to stop a merge that was being moved into the project.
"""

import errno
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from neodyme_cli.merge import MergeReport


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


class CorruptAnswersError(BadInputError):
    """`.copier-answers.yml` is there but cannot be read as a neodyme project's answers."""


class UnknownTemplateVersionError(BadInputError):
    """A template version neither recorded in this neodyme's history nor a release of it."""


class DestinationNotEmptyError(NeodymeError):
    pass


class DirtyWorkingTreeError(NeodymeError):
    pass


class GitError(NeodymeError):
    pass


class GitMissingError(GitError):
    def __init__(self, *, hint: str | None = None) -> None:
        super().__init__(
            "git is not installed (there is no `git` on PATH); neodyme needs it here.",
            hint=hint
            or "Install git (your system's package manager, or https://git-scm.com), then retry.",
        )


class TemplateError(NeodymeError):
    """Copier could not render or update the project."""


class DataFolderError(NeodymeError):
    """neodyme's own data folder (its template repository) cannot be written."""


class ProjectNewerError(NeodymeError):
    """The project was made by a newer neodyme than the one running."""


class EnvironmentFaultError(NeodymeError):
    """The machine refused an operation: a full disk, a permission, a missing folder."""

    @classmethod
    def from_os_error(
        cls, error: OSError, *, doing: str, outcome: str = ""
    ) -> "EnvironmentFaultError":
        where = f" ({error.filename})" if error.filename else ""
        reason = error.strerror or str(error)
        message = f"Could not {doing}: {reason}{where}.{f' {outcome}' if outcome else ''}"
        return cls(message, hint=_os_error_hint(error))


def _os_error_hint(error: OSError) -> str:
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return "Free some disk space (or quota) there, then retry."
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "Make that folder writable for you, or work in another one, then retry."
    return "Check that path, then retry."


class InterruptedAfterMerge(KeyboardInterrupt):
    """Ctrl-C arrived while a finished merge was being moved in: it was completed first."""

    def __init__(self, report: "MergeReport") -> None:
        super().__init__("interrupted after the merge was complete")
        self.report = report


# A Ctrl-C lands wherever Python is. Inside a finalizer (`__del__`, such as a subprocess
# wrapper's), Python cannot raise it: it prints "Exception ignored" and carries on.
_swallowed_interrupts: list[KeyboardInterrupt] = []


def keep_swallowed_interrupts() -> None:
    """Keep, instead of printing, a Ctrl-C that Python could not raise; the library raises it
    again before its next step that cannot be undone (`raise_swallowed_interrupt`)."""
    print_unraisable = sys.unraisablehook

    def keep(unraisable: "sys.UnraisableHookArgs") -> None:
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            _swallowed_interrupts.append(unraisable.exc_value)
        else:
            print_unraisable(unraisable)

    sys.unraisablehook = keep


def raise_swallowed_interrupt() -> None:
    """Before a step that cannot be undone: a Ctrl-C that came earlier stops it now."""
    if _swallowed_interrupts:
        _swallowed_interrupts.clear()
        raise KeyboardInterrupt
