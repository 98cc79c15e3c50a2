"""Chapter notebooks that work outside the course repository (Colab, a downloaded .ipynb).

The chapters import the course's package (`rnncourse`) and scripts from the repository, and are written as
MyST Markdown, which Colab cannot open. This extension
- puts a first cell into every generated `_sources/**/*.ipynb` (the "download .ipynb" entry) that, when the
  course package is not importable, clones the student edition named in `_config.yml` (`repository:`), installs
  its package and moves into it;
- points the Colab launch button at that .ipynb on the branch the book is published to (`make publish`
  pushes the HTML, `_sources` included, to `gh-pages`).
Binder and JupyterHub start inside a clone of the repository and keep opening the MyST source.
"""
import json
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

SETUP_TAG = "standalone-setup"

SETUP_CODE = '''\
# Run this cell first if you opened this notebook on its own (Colab, a download): it fetches the course
# ({url}, branch {branch}), installs its package and moves into it. Inside the course it does nothing.
import importlib, importlib.util, os, subprocess, sys
if importlib.util.find_spec("rnncourse") is None:
    if not os.path.isdir("{folder}"):
        subprocess.run(["git", "clone", "--depth", "1", "--branch", "{branch}", "{url}", "{folder}"], check=True)
    # NumPy, PyTorch and Matplotlib are there (Colab): add the course's package alone, and myst-nb for glue()
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "./{folder}"], check=True)
    if importlib.util.find_spec("myst_nb") is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "{myst_nb}"], check=True)
    importlib.invalidate_caches()
    os.chdir(os.path.join("{folder}", "{page_dir}"))
'''


def setup_cell_source(url: str, branch: str, pagename: str, myst_nb: str) -> str:
    """The first cell of a standalone chapter notebook, for the page `pagename` (e.g. 'chapters/rnn');
    `myst_nb` is the requirement it installs when myst-nb is missing (e.g. 'myst-nb==1.4.0')."""
    page_dir = str(PurePosixPath(pagename).parent)
    folder = urlparse(url).path.rstrip("/").split("/")[-1].removesuffix(".git") or "course"
    return SETUP_CODE.format(url=url, branch=branch, folder=folder, page_dir=page_dir, myst_nb=myst_nb)


def myst_nb_pin(srcdir: str) -> str:
    """myst-nb's line of the course's requirements.txt (its exact pin)."""
    lines = (Path(srcdir) / "requirements.txt").read_text().splitlines()
    return next(line.strip() for line in lines if line.startswith("myst-nb=="))


def _repository(config) -> tuple[str, str]:
    return config.html_theme_options.get("repository_url", ""), config.html_theme_options.get(
        "repository_branch", "main")


def point_colab_at_notebook(app, pagename, templatename, context, doctree):
    """Colab opens `_sources/<page>.ipynb` on the published branch instead of the MyST source."""
    launch = [g for g in context.get("header_buttons", []) if g.get("label") == "launch-buttons"]
    for button in (b for group in launch for b in group["buttons"] if b.get("text") == "Colab"):
        head = button["url"].split("/blob/")[0]
        button["url"] = f"{head}/blob/{app.config.standalone_pages_branch}/_sources/{pagename}.ipynb"


def add_setup_cells(app, exception):
    """Put the setup cell first in every generated chapter notebook under `_sources/`."""
    if exception is not None or app.builder.format != "html":
        return
    url, branch = _repository(app.config)
    myst_nb = myst_nb_pin(app.srcdir)
    sources = Path(app.outdir) / "_sources"
    for path in sources.rglob("*.ipynb"):
        nb = json.loads(path.read_text())
        if nb["cells"] and SETUP_TAG in nb["cells"][0].get("metadata", {}).get("tags", []):
            continue
        pagename = path.relative_to(sources).with_suffix("").as_posix()
        cell = {"cell_type": "code", "execution_count": None, "outputs": [], "metadata": {"tags": [SETUP_TAG]},
                "source": setup_cell_source(url, branch, pagename, myst_nb).splitlines(keepends=True)}
        if (nb["nbformat"], nb["nbformat_minor"]) >= (4, 5):
            cell["id"] = SETUP_TAG
        nb["cells"].insert(0, cell)
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


def setup(app):
    app.add_config_value("standalone_pages_branch", "gh-pages", "html")
    app.connect("html-page-context", point_colab_at_notebook, priority=600)
    app.connect("build-finished", add_setup_cells)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
