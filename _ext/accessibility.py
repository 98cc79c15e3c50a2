"""What axe-core (tests/test_browser.py) finds wrong in the theme's and myst-nb's HTML, put right here.

- _ext/templates/ comes before the themes' own component templates: the search button and the colour-mode button
  there have an accessible name that matches what they show ("label-content-name-mismatch"), and the book's title
  in the sidebar sits in a landmark ("region").
- myst-nb labels the summary of a hidden code cell "Toggle hidden content" while it shows "Show code cell source":
  a screen-reader user hears one name and a speech-input user must say another. Without the label the summary is
  named by what it shows.
"""
from pathlib import Path

from myst_nb.sphinx_ import HideCodeCellNode, depart_HideCellInput, visit_HideCellInput

TEMPLATES = Path(__file__).parent / "templates"
MISLABELLED = '<summary aria-label="Toggle hidden content">\n'


def add_templates(app, config):
    config.templates_path.insert(0, str(TEMPLATES))


def visit_hidden_cell(self, node):
    visit_HideCellInput(self, node)
    at = len(self.body) - 1 - self.body[::-1].index(MISLABELLED)
    self.body[at] = "<summary>\n"


def setup(app):
    app.connect("config-inited", add_templates)
    app.add_node(HideCodeCellNode, override=True, html=(visit_hidden_cell, depart_HideCellInput))
    return {"parallel_read_safe": True, "parallel_write_safe": True}
