"""The pipeline: sources (scripts, notebooks), the engine, the process pool, the cache, discovery, profiling."""
