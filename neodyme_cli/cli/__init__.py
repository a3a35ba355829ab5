"""The `neodyme` command: Typer parses options, the library does the work."""

from typing import Annotated

import typer

from neodyme_cli import __version__
from neodyme_cli.cli import add, check, new, update

app = typer.Typer(
    name="neodyme",
    help="Generate and grow production-shaped FastAPI backends.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: rich's markdown import would double start-up time
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command()(new.new)
app.command()(add.add)
app.command()(update.update)
app.command()(check.check)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"neodyme {__version__}")
        raise typer.Exit


@app.callback()
def root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Show the version."),
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False,
) -> None:
    """Generate and grow production-shaped FastAPI backends."""
    ctx.obj = {"debug": debug}


def run() -> None:
    app(prog_name="neodyme")


main = run  # the entry point of neodyme 0.1.0 installs; new ones use neodyme_cli.__main__:main
