"""The book's own stylesheet (`_ext/static/book.css`): code and prose that fit the column at every width."""
from pathlib import Path

STATIC = Path(__file__).parent / "static"


def add_static_path(app, config):
    config.html_static_path.append(str(STATIC))


def setup(app):
    app.connect("config-inited", add_static_path)
    app.add_css_file("book.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
