"""Why `neodyme add resource` refuses: each is bad input (exit code 2) with a hint."""

from neodyme_cli.errors import BadInputError


class InvalidResourceError(BadInputError):
    """The resource's name or one of its fields cannot be used as written."""


class ResourceExistsError(BadInputError):
    """The project has that resource already: its table or one of its files."""


class UnknownReferenceError(BadInputError):
    """A `ref:` field names a table the project does not have."""


class AuthRequiredError(BadInputError):
    """`--owned` needs users who sign in: the auth module."""


class ProjectNotReadyError(BadInputError):
    """The project lacks what resources build on: an older template, or several Alembic heads."""
