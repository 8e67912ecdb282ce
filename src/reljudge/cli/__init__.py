"""The `reljudge` command line: one module per command, each a thin wrapper over library functions."""
