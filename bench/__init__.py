"""gpugrad's benchmark suite: ``python -m bench`` times gpugrad against its peers side by side.

See ``bench/RESULTS.md`` for the recorded figures and ``python -m bench --help`` for options.
"""
