"""The cell diagrams (`rnncourse.diagrams`): every stage draws, highlights its own path, says what it shows
in its alt text, and keeps its labels apart."""
import itertools

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from rnncourse import diagrams

pytestmark = pytest.mark.unit

# stage -> words its alt text must contain, and the symbol its equation must name
LSTM = {"forget": (("forget gate",), "f_t"), "input": (("input gate", "candidate"), "i_t"),
        "cell": (("cell state",), "c_t"), "output": (("output gate",), "o_t")}
GRU = {"reset": (("reset gate",), "r_t"), "candidate": (("candidate",), "n_t"),
       "update": (("update gate",), "z_t")}
ALL = {
    "rnn": diagrams.draw_rnn_cell,
    "lstm": diagrams.draw_lstm_cell,
    "gru": diagrams.draw_gru_cell,
    "peephole": diagrams.draw_peephole_cell,
    "lstm_and_gru": diagrams.draw_lstm_and_gru,
    "lstm_graph": diagrams.draw_lstm_graph,
    **{f"lstm_{s}": (lambda s=s: diagrams.draw_lstm_cell(s)) for s in diagrams.LSTM_STAGES},
    **{f"gru_{s}": (lambda s=s: diagrams.draw_gru_cell(s)) for s in diagrams.GRU_STAGES},
}


def _gids(diagram, state):
    """Names of the parts drawn in `state` (new / done / later) on the first axes."""
    ax = diagram.fig.axes[0]
    found = {a.get_gid() for a in ax.get_children() + ax.texts if a.get_gid()}
    return {g.rsplit(":", 1)[0] for g in found if g.endswith(f":{state}")}


def _equation(diagram):
    return next(t.get_text() for t in diagram.fig.axes[0].texts if t.get_gid() == "equation")


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
    for stage, (words, symbol) in expect.items():
        assert all(w in drawn[stage].alt for w in words), (stage, drawn[stage].alt)
        assert symbol in _equation(drawn[stage])
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
