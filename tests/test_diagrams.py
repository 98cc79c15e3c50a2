"""The cell diagrams (`rnncourse.diagrams`): every stage draws, highlights its own path, says what it shows
in its alt text, keeps its labels apart and on the wire they name, and every text is readable (WCAG AA)."""
import itertools

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Annotation

from rnncourse import diagrams

pytestmark = pytest.mark.unit

# stage -> words its alt text must contain
LSTM = {"forget": ("forget gate",), "input": ("input gate", "candidate"), "cell": ("cell state",),
        "output": ("output gate",)}
GRU = {"reset": ("reset gate",), "candidate": ("candidate",), "update": ("update gate",)}
ALL = {
    "rnn": diagrams.draw_rnn_cell,
    "lstm": diagrams.draw_lstm_cell,
    "gru": diagrams.draw_gru_cell,
    "peephole": diagrams.draw_peephole_cell,
    "lstm_and_gru": diagrams.draw_lstm_and_gru,
    "lstm_graph": diagrams.draw_lstm_graph,
    "unrolled_rnn": lambda: diagrams.draw_unrolled("rnn"),
    "unrolled_lstm": lambda: diagrams.draw_unrolled("lstm"),
    **{f"lstm_{s}": (lambda s=s: diagrams.draw_lstm_cell(s)) for s in diagrams.LSTM_STAGES},
    **{f"gru_{s}": (lambda s=s: diagrams.draw_gru_cell(s)) for s in diagrams.GRU_STAGES},
}


def _gids(diagram, state):
    """Names of the parts drawn in `state` (new / done / later) on the first axes."""
    ax = diagram.fig.axes[0]
    found = {a.get_gid() for a in ax.get_children() + ax.texts if a.get_gid()}
    return {g.rsplit(":", 1)[0] for g in found if g.endswith(f":{state}")}


def _texts(diagram) -> dict[str, str]:
    """gid name -> text of every text on the first axes that has a gid."""
    return {t.get_gid().rsplit(":", 1)[0]: t.get_text() for t in diagram.fig.axes[0].texts if t.get_gid()}


@pytest.mark.parametrize("name", sorted(ALL))
def test_draws_with_alt_text(name):
    diagram = ALL[name]()
    fig, alt = diagram
    assert isinstance(fig, Figure) and len(alt) > 100
    html = diagram._repr_html_()
    assert html.startswith("<img") and "data:image/svg+xml;base64," in html and 'alt="' in html


@pytest.mark.parametrize("name", sorted(ALL))
def test_labels_do_not_overlap(name):
    fig = ALL[name]().fig
    FigureCanvasAgg(fig).draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        boxes = [(t.get_text(), t.get_window_extent(renderer).shrunk(0.95, 0.9))
                 for t in ax.texts if t.get_text().strip()]
        for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2):
            assert not box_a.overlaps(box_b), f"{name}: labels {a!r} and {b!r} overlap"


@pytest.mark.parametrize(("draw", "stages", "expect"), [
    (diagrams.draw_lstm_cell, diagrams.LSTM_STAGES, LSTM),
    (diagrams.draw_gru_cell, diagrams.GRU_STAGES, GRU),
])
def test_stages_reveal_the_cell_one_path_at_a_time(draw, stages, expect):
    assert tuple(expect) == stages
    drawn = {s: draw(s) for s in stages}
    new = {s: _gids(d, "new") for s, d in drawn.items()}
    assert all(new.values())
    for a, b in itertools.combinations(stages, 2):
        assert new[a] != new[b], f"stages {a} and {b} highlight the same parts"
    first, last = drawn[stages[0]], drawn[stages[-1]]
    assert _gids(first, "done") | new[stages[0]] < _gids(last, "done") | new[stages[-1]]  # what was shown stays
    assert all(_gids(drawn[s], "later") for s in stages[:-1]) and not _gids(drawn[stages[-1]], "later")
    for stage, words in expect.items():
        assert all(w in drawn[stage].alt for w in words), (stage, drawn[stage].alt)
        # the equation follows in MathJax, which a screen reader reads: the drawing does not print it again
        assert not [t for t in _texts(drawn[stage]).values() if "=" in t], stage
    whole = draw()
    assert not _gids(whole, "new") and not _gids(whole, "later")


def test_peepholes_are_the_only_new_parts_of_the_lstm_drawing():
    peephole = diagrams.draw_peephole_cell()
    assert _gids(peephole, "new") == {"peep_f", "peep_i", "peep_o", "label_pf_pi", "label_po"}
    assert _gids(peephole, "done") == _gids(diagrams.draw_lstm_cell(), "done")


def test_unknown_stage_is_refused():
    with pytest.raises(ValueError, match="forget"):
        diagrams.draw_lstm_cell("update")
    with pytest.raises(ValueError, match="reset"):
        diagrams.draw_gru_cell("forget")


def _data_box(fig, text):
    """The box a text occupies, in its axes' data coordinates."""
    FigureCanvasAgg(fig).draw()
    return text.get_window_extent(fig.canvas.get_renderer()).transformed(text.axes.transData.inverted())


def _distance(point, artist) -> float:
    """Shortest distance from `point` to a drawn wire (a line's polyline, or an arrow's straight segment)."""
    if isinstance(artist, Line2D):
        xy = artist.get_xydata()
    else:
        xy = np.array([artist.xyann, artist.xy], dtype=float)
    p = np.asarray(point)
    best = np.inf
    for a, b in zip(xy[:-1], xy[1:]):
        t = np.clip(np.dot(p - a, b - a) / max(np.dot(b - a, b - a), 1e-12), 0, 1)
        best = min(best, float(np.linalg.norm(a + t * (b - a) - p)))
    return best


@pytest.mark.parametrize("stage", [None, *diagrams.GRU_STAGES])
def test_gru_labels_sit_on_the_wires_they_name(stage):
    """r_t * h_{t-1} labels the wire into the candidate (it once sat under z_t's branch, as if it multiplied n_t),
    and the two branches of h_t = (1 - z_t) * h_{t-1} + z_t * n_t say which weight they carry."""
    fig = diagrams.draw_gru_cell(stage).fig
    ax = fig.axes[0]
    wires = {a.get_gid().split(":")[0]: a for a in ax.get_children() if isinstance(a, (Line2D, Annotation))
             and a.get_gid() and a.get_gid().split(":")[0] in {"rh_to_n", "z_right", "keep_up", "n_up", "h_tap"}}
    assert len(wires) == 5
    labels = {t.get_gid().split(":")[0]: t for t in ax.texts if t.get_gid() and not isinstance(t, Annotation)}
    for label, wire, text in (("label_rh", "rh_to_n", r"r_t \odot h_{t-1}"), ("label_zn", "z_right", "z_t"),
                              ("label_keep", "keep_up", "1 - z_t")):
        assert text in labels[label].get_text()
        centre = _data_box(fig, labels[label]).get_points().mean(axis=0)
        nearest = min(wires, key=lambda w: _distance(centre, wires[w]))
        assert nearest == wire, f"{label} is nearest to {nearest}, not to {wire}"
        assert _distance(centre, wires[wire]) < 0.7


def test_lstm_graph_names_f_t_as_path_1s_term_only():
    """f_t is the direct term of dc_t/dc_{t-1}, not all of it: path 2 adds the terms through h_{t-1}."""
    diagram = diagrams.draw_lstm_graph()
    path_1 = _texts(diagram)["path_1"]
    assert "f_t" in path_1 and "direct" in path_1
    assert not [t.get_text() for t in diagram.fig.axes[0].texts if "= f_t" in t.get_text()]
    assert "local derivative is f_t" not in diagram.alt and "direct term" in diagram.alt


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_unrolled_chain_passes_the_states_over_three_steps_with_a_legend(kind):
    diagram = diagrams.draw_unrolled(kind)
    chain, legend = diagram.fig.axes
    texts = " ".join(t.get_text() for t in chain.texts)
    for step in ("t-1", "t", "t+1"):
        assert f"x_{{{step}}}" in texts
    states = ("h", "c") if kind == "lstm" else ("h",)
    for name in states:
        assert all(f"{name}_{{{s}}}" in texts for s in ("t-2", "t-1", "t", "t+1")), texts
    assert len(legend.texts) >= len(diagrams.LEGENDS[kind]) and "legend" in diagram.alt
    assert chain.get_xlim()[1] > 2 * diagrams.CHAINS[kind][1]          # three copies side by side


def _luminance(color) -> float:
    """WCAG 2 relative luminance of a colour."""
    channels = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in to_rgb(color)]
    return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]


def contrast(a, b) -> float:
    """WCAG 2 contrast ratio of two colours, 1 to 21."""
    dark, light = sorted((_luminance(a), _luminance(b)))
    return (light + 0.05) / (dark + 0.05)


def test_contrast_formula():
    assert contrast("black", "white") == pytest.approx(21.0)
    assert contrast("#767676", "white") == pytest.approx(4.54, abs=0.01)   # WCAG's lightest AA grey on white


@pytest.mark.parametrize("name", sorted(ALL))
def test_every_text_reaches_wcag_aa_contrast_against_its_fill(name):
    """Each text against the topmost filled shape under its centre (or the white page): at least 4.5:1."""
    fig = ALL[name]().fig
    FigureCanvasAgg(fig).draw()
    renderer = fig.canvas.get_renderer()
    checked = 0
    for ax in fig.axes:
        for text in ax.texts:
            if isinstance(text, Annotation) or not text.get_text().strip():
                continue
            centre = text.get_window_extent(renderer).get_points().mean(axis=0)
            under = [p for p in ax.patches if p.get_zorder() < text.get_zorder() and p.get_fill()
                     and p.contains_point(centre)]
            fill = max(under, key=lambda p: p.get_zorder()).get_facecolor()[:3] if under else "white"
            ratio = contrast(text.get_color(), fill)
            assert ratio >= 4.5, f"{name}: {text.get_text()!r} in {text.get_color()} on {fill}: {ratio:.2f}:1"
            checked += 1
    assert checked
