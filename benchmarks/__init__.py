"""The chapters' benchmark scripts (run each as `python benchmarks/<name>.py --help`; the chapters import them)."""
