"""The one place that turns results and errors into messages and exit codes."""

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape

from neodyme_cli.errors import InterruptedAfterMerge, NeodymeError

if TYPE_CHECKING:
    from neodyme_cli.merge import MergeReport

console = Console(highlight=False, soft_wrap=True)
error_console = Console(stderr=True, highlight=False, soft_wrap=True)

EXIT_INTERRUPTED = 130
CHANGE_LETTERS = {"added": "A", "modified": "M", "deleted": "D"}


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
    except InterruptedAfterMerge as interrupted:
        print_merge_report(interrupted.report, exit_on_conflicts=False)
        error_console.print(
            "[bold red]interrupted:[/] Ctrl-C came while the merge was being moved in; "
            "it was completed first, and the project is as reported above."
        )
        raise typer.Exit(EXIT_INTERRUPTED) from None
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


def print_merge_report(report: "MergeReport", *, exit_on_conflicts: bool = True) -> None:
    """The summary of `add` and `update`, alike on success and on conflict (then exit 1)."""
    where = escape(str(report.project))
    module = report.action.removeprefix("add ")
    if report.nothing_to_do:
        if report.action == "update":
            console.print(f"{where} is on template {report.to_version} already; nothing changed.")
        else:
            console.print(f"{module} is already on in {where}; nothing changed.")
        _print_warnings(report.warnings)
        return
    versions = f"template {report.from_version} -> {report.to_version}"
    done = (
        f"Updated {where} ({versions})"
        if report.action == "update"
        else f"Added {module} to {where}"
    )
    if report.conflicts:
        console.print(f"[bold yellow]{done}, with conflicts to resolve[/]")
    else:
        console.print(f"[bold green]{done}[/]")
    console.print("Changed (A added, M modified, D deleted):")
    for change in report.changes:
        console.print(f"  {CHANGE_LETTERS[change.kind]} {escape(str(change.path))}")
    if report.conflicts:
        console.print("Conflicts (your edits and the template changed the same lines):")
        for path in report.conflicts:
            console.print(f"  [bold]{escape(str(path))}[/]")
    if report.kept:
        console.print("Kept as you had changed them (the template no longer has them):")
        for path in report.kept:
            console.print(f"  {escape(str(path))}")
    if report.env_added:
        console.print(f".env: added {', '.join(report.env_added)}")
    for moved in report.reparented:
        console.print(
            f"alembic: revision {moved.revision} now follows {', '.join(moved.new_parents)} "
            "(your head), so there is one head"
        )
    _print_warnings(report.warnings)
    _print_next_steps(report)
    if report.conflicts and exit_on_conflicts:
        count = len(report.conflicts)
        files = "1 file holds" if count == 1 else f"{count} files hold"
        error_console.print(
            f"[bold red]error:[/] {files} conflict markers: resolve them as listed, then commit."
        )
        raise typer.Exit(1)


def _print_next_steps(report: "MergeReport") -> None:
    changed = {str(change.path) for change in report.changes}
    message = (
        f"Update to neodyme template {report.to_version}"
        if report.action == "update"
        else f"Add {report.action.removeprefix('add ')}"
    )
    steps: list[tuple[str, str]] = []
    if report.conflicts:
        steps.append(
            ("edit the files listed above", "# keep what you need between <<<<<<< and >>>>>>>")
        )
    steps.append(("git diff", "# review the change"))
    if "pyproject.toml" in changed:
        steps.append(("uv sync", "# install the new dependencies"))
    if any(path.startswith("alembic/versions/") for path in changed):
        steps.append(("uv run alembic upgrade head", "# migrate your database"))
    steps.append(("uv run pytest", ""))
    steps.append((f"git add -A && git commit -m '{message}'", ""))
    console.print("\nNext:")
    for command, why in steps:
        line = f"  {escape(command):<30}[dim]{escape(why)}[/]" if why else f"  {escape(command)}"
        console.print(line)


def _print_warnings(messages: tuple[str, ...]) -> None:
    for message in messages:
        error_console.print(f"[bold yellow]warning:[/] {escape(message)}")
