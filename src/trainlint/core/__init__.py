"""The foundation: diagnostics, sources, configuration, suppressions, limits. Imports nothing else of trainlint."""
