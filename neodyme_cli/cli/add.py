"""`neodyme add`."""

from pathlib import Path
from typing import Annotated

import typer

from neodyme_cli.cli._report import print_merge_report, reporting
from neodyme_cli.errors import BadInputError
from neodyme_cli.modules import MODULES


def add(
    ctx: typer.Context,
    module: Annotated[
        str,
        typer.Argument(metavar="MODULE", help=f"What to add: {' | '.join(MODULES)} | resource."),
    ],
    resource: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[NAME FIELD:TYPE...]",
            show_default=False,
            help="With `resource`: its name (singular) and its fields, "
            "name:type[:arg][?][!][=default]; quote fields with ?, ! or spaces.",
        ),
    ] = None,
    owned: Annotated[
        bool,
        typer.Option(
            "--owned", help="With `resource`: each row belongs to its creator (needs auth)."
        ),
    ] = False,
    path: Annotated[
        Path | None, typer.Option("--path", help="The project folder. [default: .]")
    ] = None,
) -> None:
    """Add MODULE to an existing project, keeping every edit you made; or a resource, e.g.
    `neodyme add resource post title:str:200 body:text author:ref:users`.

    The project must be a git repository with everything committed; the change is left
    uncommitted for you to review.
    """
    with reporting(ctx):
        if module == "resource":
            from neodyme_cli.project import add_resource

            report = add_resource(spec=resource or [], owned=owned, project_dir=path)
        else:
            if resource or owned:
                raise BadInputError(
                    f"`neodyme add {module}` takes no fields and no --owned.",
                    hint=f"Run `neodyme add {module}`; fields go with `neodyme add resource`.",
                )
            from neodyme_cli.project import add_module

            report = add_module(module=module, project_dir=path)
    print_merge_report(report)
