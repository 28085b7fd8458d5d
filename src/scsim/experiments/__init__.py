"""Many runs: replicate ensembles (and, later, sweeps and sensitivity) on Dask distributed.

Tasks are plain data (the validated scenario as a dict, seed, output path)
and each writes an ordinary run folder; only small metadata travels back.
"""
