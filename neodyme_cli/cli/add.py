"""`neodyme add`."""

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from neodyme_cli.cli._report import console, reporting
from neodyme_cli.modules import MODULES


def add(
    ctx: typer.Context,
    module: Annotated[
        str, typer.Argument(metavar="MODULE", help=f"Module to add: {' | '.join(MODULES)}.")
    ],
    path: Annotated[
        Path | None, typer.Option("--path", help="The project folder. [default: .]")
    ] = None,
) -> None:
    """Add MODULE to an existing project, keeping every edit you made.

    The project must be a git repository with everything committed; the merge is left
    uncommitted for you to review.
    """
    from neodyme_cli.project import add_module

    with reporting(ctx):
        result = add_module(module=module, project_dir=path)
    if result.already_present:
        console.print(f"{module} is already on in {escape(str(result.path))}; nothing changed.")
        return
    console.print(f"[bold green]Added[/] {module} to {escape(str(result.path))}")
    for changed in result.changed:
        console.print(f"  {escape(str(changed))}")
    if result.env_settings_added:
        console.print(f"  .env: added {', '.join(result.env_settings_added)}")
    console.print("\nNext:")
    console.print("  git diff                 [dim]# review the change[/]")
    console.print("  uv sync && uv run pytest")
    console.print(f"  git add -A && git commit -m 'Add {module}'")
