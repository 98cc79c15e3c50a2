"""Chapter notebooks that work outside the course repository (Colab, a downloaded .ipynb).

The chapters import the course's package (`rnncourse`) and scripts from the repository, and are written as
MyST Markdown, which Colab cannot open. This extension
- puts a first cell into every generated `_sources/**/*.ipynb` (the "download .ipynb" entry) that, when the
  course package is not importable, clones the repository named in `_config.yml` and moves into it;
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
# ({url}, branch {branch}) and moves into it. Inside the course repository it does nothing.
import importlib.util, os, subprocess, sys
if importlib.util.find_spec("rnncourse") is None:
    if not os.path.isdir("{folder}"):
        subprocess.run(["git", "clone", "--depth", "1", "--branch", "{branch}", "{url}", "{folder}"], check=True)
    os.chdir(os.path.join("{folder}", "{page_dir}"))
    sys.path.insert(0, os.path.abspath("{up}"))
    if importlib.util.find_spec("myst_nb") is None:  # for glue(); NumPy, PyTorch and Matplotlib are there
        with open(os.path.join("{up}", "requirements.txt")) as f:
            pins = [line.strip() for line in f if line.startswith("myst-nb==")]
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *pins], check=True)
'''


def setup_cell_source(url: str, branch: str, pagename: str) -> str:
    """The first cell of a standalone chapter notebook, for the page `pagename` (e.g. 'chapters/rnn')."""
    page_dir = str(PurePosixPath(pagename).parent)
    up = "/".join([".."] * len(PurePosixPath(page_dir).parts)) if page_dir != "." else "."
    folder = urlparse(url).path.rstrip("/").split("/")[-1].removesuffix(".git") or "course"
    return SETUP_CODE.format(url=url, branch=branch, folder=folder, page_dir=page_dir, up=up)


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
    sources = Path(app.outdir) / "_sources"
    for path in sources.rglob("*.ipynb"):
        nb = json.loads(path.read_text())
        if nb["cells"] and SETUP_TAG in nb["cells"][0].get("metadata", {}).get("tags", []):
            continue
        pagename = path.relative_to(sources).with_suffix("").as_posix()
        cell = {"cell_type": "code", "execution_count": None, "outputs": [], "metadata": {"tags": [SETUP_TAG]},
                "source": setup_cell_source(url, branch, pagename).splitlines(keepends=True)}
        if (nb["nbformat"], nb["nbformat_minor"]) >= (4, 5):
            cell["id"] = SETUP_TAG
        nb["cells"].insert(0, cell)
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


def setup(app):
    app.add_config_value("standalone_pages_branch", "gh-pages", "html")
    app.connect("html-page-context", point_colab_at_notebook, priority=600)
    app.connect("build-finished", add_setup_cells)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
