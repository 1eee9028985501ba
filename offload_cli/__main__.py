"""`python -m offload_cli`: the `offload` command, where the console script is not on PATH."""

from offload_cli import main

if __name__ == "__main__":
    main()
