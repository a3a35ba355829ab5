"""The `neodyme` command's entry point.

It imports the CLI inside the `try`, so a Ctrl-C while Typer, rich and friends are still
loading (the first fraction of a second) ends like any other Ctrl-C: a line and exit 130,
not a `KeyboardInterrupt` traceback.
"""

import sys

EXIT_INTERRUPTED = 130


def main() -> None:
    try:
        from neodyme_cli.errors import keep_swallowed_interrupts

        keep_swallowed_interrupts()
        from neodyme_cli.cli import run

        run()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted: nothing was changed.\n")
        sys.exit(EXIT_INTERRUPTED)


if __name__ == "__main__":
    main()
