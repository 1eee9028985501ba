"""`offload`: one command to run Offload's processes and look after them.

One module per command group (`gateway`, `services`, `dlq`, `jobs`,
`teardown`, `broker_users`), each thin: it reads the command line and calls the
code that does the work. The command itself needs the `runtime` extra (typer);
a subcommand that needs more (the gateway's, a service's) names the extra to
install when it is missing.
"""

import sys


def main() -> None:
    """The `offload` console script."""
    try:
        from offload_cli.app import app
    except ModuleNotFoundError as missing:
        # The base install is the contracts alone.
        sys.exit(
            f"error: the offload command needs the runtime extra (no module {missing.name!r}): "
            "pip install 'offload[runtime]'"
        )
    app(prog_name="offload")
