"""`python -m gateway`: serve the HTTP API, as `offload gateway` does (see offload_cli.gateway).

`python -m gateway migrate` and `python -m gateway dlq ...` run `offload
migrate` and `offload dlq ...`; `--help` lists them.
"""

from offload_cli.gateway import standalone

if __name__ == "__main__":
    standalone()(prog_name="python -m gateway")
