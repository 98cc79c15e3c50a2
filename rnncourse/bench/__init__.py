"""The course's benchmarks: the shared kit (`kit`) and one module per measurement the chapters show.

`benchmarks/*.py` are their command lines; `python -m rnncourse.bench.figures` (`make gpu-figures`) runs
every measurement the chapters show for a GPU and writes the records to `kit.RESULTS`.
"""
