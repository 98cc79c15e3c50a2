"""Build the HTML book: execute the chapters in parallel into jupyter-cache, then let jupyter-book render them.

`make book` runs this. jupyter-book 1.x executes notebooks one after the other while Sphinx reads them; the
chapters are independent, so this script first executes every chapter whose code changed, as many at a time
as there are cores (longest first, by the previous run's times), and stores the executed notebooks in the
same jupyter-cache that jupyter-book reads (`_build/.jupyter_cache`, `execute_notebooks: cache`). jupyter-book
then finds every chapter cached and only renders. At the end it prints the execution time of each chapter.

    python scripts/build_book.py [--jobs N]

Extra arguments after `--` go to `jupyter-book build` (default: `--all -W -n --keep-going`).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from datetime import datetime
from pathlib import Path

import yaml
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn
from jupyter_cache.executors.utils import single_nb_execution

from rnncourse.training import RUNS_ENV

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "_build" / ".jupyter_cache"
TIMES = ROOT / "_build" / "chapter_times.json"   # last execution time of each chapter: the schedule's estimate
READER = {"name": "myst_nb_md", "type": "plugin"}  # myst-nb's own reader: the notebook jupyter-book will hash
REPORT = ROOT / "_build" / "build_report.txt"
BUILD_ARGS = ["--all", "-W", "-n", "--keep-going"]


def notebook_pages() -> list[Path]:
    """The pages of _toc.yml that are notebooks (MyST Markdown with a kernelspec)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [ch["file"] for part in toc.get("parts", []) for ch in part.get("chapters", [])]
    pages = [ROOT / f"{name}.md" for name in files]
    return [p for p in pages if p.exists() and "kernelspec:" in p.read_text().split("\n---", 1)[0]]


def execute(path: str, nb) -> tuple[str, object, float, str | None, str]:
    """Run one notebook in its own folder, as jupyter-book would.
    Returns (path, executed nb, seconds, error, its slowest cells)."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())["execute"]
    # torch.compile's cache, one per chapter: two kernels compiling into one shared cache at once have crashed it
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(ROOT / "_build" / "inductor" / Path(path).stem)
    result = single_nb_execution(nb, cwd=str(Path(path).parent), timeout=config["timeout"],
                                 allow_errors=config["allow_errors"], meta_override=True, record_timing=True)
    slowest = slowest_cells(result.nb)
    for cell in result.nb.cells:   # jupyter-cache hashes all cell metadata: timing left in would never match again
        cell.metadata.pop("execution", None)
    return path, result.nb, result.time, result.exc_string if result.err else None, slowest


def slowest_cells(nb, count: int = 3) -> str:
    """The `count` slowest code cells of an executed notebook: "cell 12 41.0 s, ..." (nbclient's timestamps)."""
    times = []
    for number, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        stamps = cell.metadata.get("execution", {})
        if {"iopub.execute_input", "shell.execute_reply"} <= stamps.keys():
            start, end = (datetime.fromisoformat(stamps[k]) for k in ("iopub.execute_input", "shell.execute_reply"))
            times.append(((end - start).total_seconds(), number + 1))
    return ", ".join(f"code cell {n} {t:.0f} s" for t, n in sorted(times, reverse=True)[:count])


def execute_changed(jobs: int) -> dict[str, dict]:
    """Execute every page whose notebook is not in the cache yet; returns {page: {"seconds", "cached"}}."""
    cache = get_cache(str(CACHE))
    previous = json.loads(TIMES.read_text()) if TIMES.exists() else {}
    todo, report = [], {}
    for page in notebook_pages():
        rel = str(page.relative_to(ROOT))
        record = cache.add_nb_to_project(str(page), read_data=READER)
        nb = cache.get_project_notebook(record.uri).nb
        try:
            cached = cache.match_cache_notebook(nb)
            report[rel] = {"seconds": cached.data.get("execution_seconds"), "cached": True}
        except KeyError:
            todo.append((rel, record.uri, nb))
    # Longest first, so that the last chapter to start is a short one: by the last run's time, and for a chapter
    # never run here (a fresh clone) by its size; a chapter without a time goes before those with one.
    todo.sort(key=lambda item: (item[0] in previous, -previous.get(item[0], (ROOT / item[0]).stat().st_size)))
    failures = []
    if todo:
        print(f"executing {len(todo)} chapter(s), {jobs} at a time: {', '.join(t[0] for t in todo)}", flush=True)
        uris = {rel: uri for rel, uri, _ in todo}
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(execute, uri, nb) for _, uri, nb in todo]
            for future in as_completed(futures):
                uri, nb, seconds, error, slowest = future.result()
                rel = next(r for r, u in uris.items() if u == uri)
                report[rel] = {"seconds": seconds, "cached": False, "slowest": slowest}
                print(f"  {rel}: {'FAILED' if error else 'executed'} in {seconds:.1f} s", flush=True)
                if error:   # at once, not after the chapters still running
                    print(error[-3000:], file=sys.stderr, flush=True)
                if error:
                    failures.append((rel, error))
                else:
                    cache.cache_notebook_bundle(CacheBundleIn(nb, uri, data={"execution_seconds": seconds}),
                                                check_validity=False, overwrite=True)
    TIMES.write_text(json.dumps({**previous, **{k: v["seconds"] for k, v in report.items() if v["seconds"]}},
                                indent=1))
    if failures:
        raise SystemExit(f"{len(failures)} chapter(s) failed to execute: {', '.join(r for r, _ in failures)}")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)),
                        help="chapters executed at a time (default: the cores this process may use)")
    parser.add_argument("build_args", nargs="*", default=BUILD_ARGS, help="arguments of jupyter-book build")
    args = parser.parse_args()
    start = time.perf_counter()
    CACHE.parent.mkdir(exist_ok=True)
    # Chapters that train the same model share the run (rnncourse.training.adding_runs): trained once per build.
    os.environ.setdefault(RUNS_ENV, str(ROOT / "_build" / "runs"))
    report = execute_changed(max(1, args.jobs))
    executed = time.perf_counter() - start
    build = subprocess.run([str(Path(sys.executable).parent / "jupyter-book"), "build", *args.build_args, str(ROOT)],
                           cwd=ROOT)
    lines = ["Execution time of each chapter (s):"]
    for rel, row in report.items():
        seconds = f"{row['seconds']:7.1f}" if row["seconds"] is not None else "      ?"
        lines.append(f"  {rel:28s} {seconds}  " + ("(cached: not run in this build)" if row["cached"]
                                                 else f"(slowest: {row['slowest']})"))
    lines.append(f"executing: {executed:.0f} s wall; whole build: {time.perf_counter() - start:.0f} s wall")
    print("\n" + "\n".join(lines))
    REPORT.write_text("\n".join(lines) + "\n")   # the test suite prints it in its summary
    raise SystemExit(build.returncode)


if __name__ == "__main__":
    main()
