"""The book's own stylesheet (`_ext/static/book.css`): a wider page for the chapters' code on wide screens."""
from pathlib import Path

STATIC = Path(__file__).parent / "static"


def add_static_path(app, config):
    config.html_static_path.append(str(STATIC))


def setup(app):
    app.connect("config-inited", add_static_path)
    app.add_css_file("book.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
