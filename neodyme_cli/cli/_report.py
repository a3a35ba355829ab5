"""The one place that turns errors into messages and exit codes."""

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.markup import escape

from neodyme_cli.errors import NeodymeError

console = Console(highlight=False, soft_wrap=True)
error_console = Console(stderr=True, highlight=False, soft_wrap=True)

EXIT_INTERRUPTED = 130


@contextmanager
def reporting(ctx: typer.Context) -> Iterator[None]:
    """Run a command body: a `NeodymeError` becomes its message and exit code, Ctrl-C 130."""
    debug = bool(ctx.obj and ctx.obj.get("debug"))
    try:
        with warnings.catch_warnings():
            if not debug:
                warnings.simplefilter("ignore")  # Copier's warnings are ours to explain
            yield
    except NeodymeError as error:
        if debug:
            error_console.print_exception()
        error_console.print(f"[bold red]error:[/] {escape(error.message)}")
        if error.hint:
            error_console.print(f"[bold]hint:[/] {escape(error.hint)}")
        raise typer.Exit(error.exit_code) from None
    except KeyboardInterrupt:
        error_console.print("[bold red]interrupted:[/] nothing was changed.")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except (typer.Exit, typer.Abort):
        raise
    except Exception as error:  # a bug of ours: still one readable line, not a traceback
        if debug:
            error_console.print_exception()
        error_console.print(
            f"[bold red]error:[/] unexpected {type(error).__name__}: {escape(str(error))}"
        )
        error_console.print("[bold]hint:[/] rerun with --debug for the traceback, and report it.")
        raise typer.Exit(1) from None
