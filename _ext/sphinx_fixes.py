"""Work-arounds for the Sphinx 7.4 stack that jupyter-book 1.x pins, each found by tests/test_browser.py.

Sphinx 7.4 puts an inline script twice on every page when an extension calls `app.add_js_file(None, body=...)`
after the HTML builder exists (sphinx-thebe does: "SyntaxError: Identifier 'THEBE_JS_URL' has already been
declared"); Sphinx 8.2 fixed it the same way, by passing '' instead of None (sphinx-doc/sphinx#13402)."""


def setup(app):
    add_js_file = app.add_js_file

    def add_js_file_once(filename, priority=500, loading_method=None, **kwargs):
        return add_js_file("" if filename is None else filename, priority, loading_method, **kwargs)

    app.add_js_file = add_js_file_once
    return {"parallel_read_safe": True, "parallel_write_safe": True}
