"""The pipeline, for one file and for many. Calls go down this list, never up:

- profile.py: `--profile`, the hooks that time each stage of a normal run
- parallel.py: many files: each read once, cache lookups, then the engine in process or in a pool
- cache.py: the per-file result cache
- engine.py: one source in, diagnostics out (decode, adapt, prefilter, parse, rules, map back)
- notebook.py: the notebook source adapter (its JSON to Python text, and back to cells);
  ipython_syntax.py blanks IPython syntax in cells
- files.py: reading a file, its size limit first
- engine_diagnostics.py: TL001-TL004, made in one place
- hooks.py: what the pipeline tells an observer at each stage (nothing, by default)
- discovery.py: which files to lint
"""
