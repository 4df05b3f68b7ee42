"""The `advcat` command line: one module per subcommand, imported only when that command runs."""
