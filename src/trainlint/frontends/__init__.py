"""The adapters users run: the command line, the flake8 plugin, the language server, the rule docs."""
