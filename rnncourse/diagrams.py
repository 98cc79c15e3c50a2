"""The book's cell diagrams, in one visual language, revealed stage by stage.

Every drawing uses the same parts: the long-term line along the top (the LSTM's cell state, the GRU's
state), the inputs $h_{t-1}$ and $x_t$ along a bus at the bottom, gates as boxes (sigma sky blue,
tanh orange), elementwise operations as circles. A stage draws what earlier stages added in black,
its own new path in vermillion and thicker, and what is still to come in light grey, so the reader always
sees the whole cell and where the new piece sits in it. The equations are not drawn: the chapters set
them in MathJax below each drawing, where a screen reader can read them. `draw_unrolled` lines up three
copies of a cell over the steps t-1, t and t+1, with a legend of the symbols.

Every text keeps a contrast of at least 4.5:1 (WCAG AA) against the fill behind it (tests/test_diagrams.py
measures each one); the colours are Okabe and Ito's, and a highlight is also thicker, never colour alone.

Each function returns a `Diagram`: the matplotlib figure and an alt text for the stage. In a notebook
or a myst-nb page, a `Diagram` as a cell's last value shows as an image that carries its alt text.
Figures are built without pyplot, so they are never shown twice.
"""
from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass

from matplotlib import patheffects
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyBboxPatch

from rnncourse.plotting import OKABE_ITO

NEW = "#B34700"             # vermillion (Okabe-Ito's #D55E00, darkened to reach 4.5:1 as text on the cell's grey)
SECOND = OKABE_ITO[0]       # blue: a second highlighted path (the computational graph)
DONE = "black"              # what earlier stages added
LATER = "#c4c4c4"           # lines and edges that later stages will add
LATER_TEXT = "#707070"      # their labels: the lightest grey that keeps 4.5:1 on the cell's grey
CELL_FILL = "#f6f6f6"       # the faint outline behind a cell
SIGMA_FILL, TANH_FILL = OKABE_ITO[4], OKABE_ITO[3]
LSTM_STAGES = ("forget", "input", "cell", "output")
GRU_STAGES = ("reset", "candidate", "update")


@dataclass(frozen=True)
class Diagram:
    """A drawn figure and the alt text that describes it."""

    fig: Figure
    alt: str

    def _repr_html_(self) -> str:
        buf = io.BytesIO()
        self.fig.savefig(buf, format="svg", bbox_inches="tight")
        data = base64.b64encode(buf.getvalue()).decode()
        return (f'<img src="data:image/svg+xml;base64,{data}" alt="{html.escape(self.alt)}" '
                f'style="max-width: 100%; height: auto;">')

    def __iter__(self):  # `fig, alt = draw_lstm_cell("forget")`
        return iter((self.fig, self.alt))


class _Pen:
    """Draws parts that belong to a stage; the current stage and the stage order decide each part's colour.

    Every artist gets the gid "name:state" (state new / done / later), which tests read and which names
    the part in SVG output.
    """

    def __init__(self, ax, stages=(), current=None, also=(), dx=0.0):
        self.ax, self.stages, self.current, self.also, self.dx = ax, stages, current, set(also), dx

    def state(self, name, stage) -> str:
        if self.current is None:
            return "done"
        if stage == self.current or name in self.also:
            return "new"
        if stage is None or self.stages.index(stage) < self.stages.index(self.current):
            return "done"
        return "later"

    def _look(self, name, stage, color=None):
        state = self.state(name, stage)
        ink = {"done": DONE, "new": NEW, "later": LATER}[state]
        return f"{name}:{state}", (color if color is not None and state != "later" else ink), state

    def line(self, name, stage, xs, ys, lw=1.6, color=None, style="-"):
        gid, ink, state = self._look(name, stage, color)
        (art,) = self.ax.plot([x + self.dx for x in xs], ys, color=ink, lw=lw + (1.0 if state == "new" else 0),
                              ls=style, zorder=1, solid_capstyle="butt")
        art.set_gid(gid)

    def arrow(self, name, stage, a, b, lw=1.6, rad=0.0, color=None, style="-", halo=False):
        gid, ink, state = self._look(name, stage, color)
        a, b = (a[0] + self.dx, a[1]), (b[0] + self.dx, b[1])
        ann = self.ax.annotate("", xy=b, xytext=a, zorder=2, arrowprops=dict(
            arrowstyle="-|>", lw=lw + (1.0 if state == "new" else 0), color=ink, linestyle=style,
            shrinkA=0, shrinkB=0, connectionstyle=f"arc3,rad={rad}"))
        if halo:  # a line that crosses another is drawn over a white gap, so the two read apart
            ann.arrow_patch.set_path_effects([patheffects.withStroke(linewidth=6, foreground="white")])
        ann.set_gid(gid)

    def box(self, name, stage, x, y, text, fill, w=0.76, h=0.6):
        gid, ink, state = self._look(name, stage)
        x += self.dx
        patch = FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.04", zorder=3,
                               facecolor="white" if state == "later" else fill, edgecolor=ink,
                               lw=2.6 if state == "new" else 1.2)
        patch.set_gid(gid)
        self.ax.add_patch(patch)
        self.ax.text(x, y, text, ha="center", va="center", fontsize=12, zorder=4,
                     color=LATER_TEXT if state == "later" else "black").set_gid(gid)

    def node(self, name, stage, x, y, text, r=0.24):
        gid, ink, state = self._look(name, stage)
        x += self.dx
        patch = Circle((x, y), r, facecolor="white", edgecolor=ink, lw=2.6 if state == "new" else 1.2, zorder=3)
        patch.set_gid(gid)
        self.ax.add_patch(patch)
        self.ax.text(x, y, text, ha="center", va="center", fontsize=11 if len(text) > 3 else 12, zorder=4,
                     color=LATER_TEXT if state == "later" else "black").set_gid(gid)

    def label(self, name, stage, x, y, text, color=None, size=13, **kw):
        gid, ink, state = self._look(name, stage, color)
        kw = {"ha": "center", "va": "center", **kw}
        self.ax.text(x + self.dx, y, text, fontsize=size, color=LATER_TEXT if state == "later" else ink, zorder=5,
                     **kw).set_gid(gid)


def _outline(ax, right, top, dx=0.0) -> None:
    """A faint outline of one cell, from x = 0.85 to `right` and up to height `top`, shifted by `dx`."""
    ax.add_patch(FancyBboxPatch((0.85 + dx, 0.45), right - 0.85, top - 0.45, boxstyle="round,pad=0.1",
                                facecolor=CELL_FILL, edgecolor="#dddddd", lw=1.0, zorder=0))


def _axes(ax, xlim, ylim) -> None:
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.axis("off")


def _step(k: int) -> str:
    """The time index k steps from t, as the drawings write it: t-1, t, t+1."""
    return "t" if k == 0 else f"t{k:+d}"


def _figure(width=8.4, height=5.2, ncols=1) -> tuple[Figure, list]:
    fig = Figure(figsize=(width, height), dpi=110, layout="constrained")
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, list(axes)


# ---------------------------------------------------------------------------------------------- RNN

def _rnn(ax, dx=0.0, k=0, ends=True) -> None:
    """Draw the RNN cell of step t+k on `ax`, shifted right by `dx`; `ends` labels the states at both ends."""
    pen = _Pen(ax, dx=dx)
    bus = 1.0
    pen.line("bus", None, [0.4, 3.0], [bus, bus])
    pen.arrow("x_in", None, (1.6, 0.1), (1.6, bus - 0.02))
    pen.label("x", None, 1.6, -0.05, f"$x_{{{_step(k)}}}$", va="top")
    pen.arrow("to_tanh", None, (3.0, bus), (3.0, 2.0))
    pen.box("tanh", None, 3.0, 2.3, r"$\tanh$", TANH_FILL, w=0.9)
    pen.line("out", None, [3.0, 3.0, 4.8, 4.8], [2.62, 3.3, 3.3, bus])
    pen.arrow("h_out", None, (4.8, bus), (6.0, bus))
    pen.label("weights", None, 2.85, 1.55, r"$W_x,\ W_h,\ b$", size=11, ha="right")
    if ends:
        pen.label("h_prev", None, 0.3, bus, f"$h_{{{_step(k - 1)}}}$", ha="right")
        pen.label("h_next", None, 6.1, bus, f"$h_{{{_step(k)}}}$", ha="left")
    _outline(ax, 5.1, 3.6, dx)


def draw_rnn_cell() -> Diagram:
    """The vanilla RNN cell, h_t = tanh(x_t W_x + h_{t-1} W_h + b), in the same language as the gated cells."""
    fig, (ax,) = _figure(6.0, 3.4)
    _rnn(ax)
    _axes(ax, (-0.6, 6.8), (-0.8, 3.9))
    alt = ("Diagram of the vanilla RNN cell. The previous hidden state h_{t-1} enters from the left and the "
           "input x_t from below; both feed one tanh box, whose output is the new hidden state h_t, which "
           "leaves on the right for the next step. The box is labelled with the weights W_x, W_h and b.")
    return Diagram(fig, alt)


# ---------------------------------------------------------------------------------------------- LSTM

TOP, MID, GATE, BUS = 5.2, 3.9, 2.6, 1.0
LSTM_X = {"f": 2.8, "i": 4.1, "g": 5.5, "o": 6.9}

# parts a stage shows again in its colour although an earlier stage drew them: the path its equation names
LSTM_ALSO = {"cell": ("c_line_in", "times_f", "plus", "c_line_mid"), "output": ("c_out",)}

LSTM_ALT = {
    None: ("Diagram of the LSTM cell. The cell state runs along the top from c_{t-1} on the left, through a "
           "multiplication by the forget gate and an addition of input gate times candidate, to c_t on the "
           "right. Below, h_{t-1} and x_t feed four boxes: sigma for f_t, sigma for i_t, tanh for g_t and "
           "sigma for o_t. c_t passes through tanh and is multiplied by o_t to give h_t, which leaves at the "
           "bottom right."),
    "forget": ("LSTM cell, stage 1 of 4, the forget gate. Highlighted: h_{t-1} and x_t feed a sigma box whose "
               "output f_t, between 0 and 1, multiplies the old cell state c_{t-1} on the line along the top. "
               "The input gate, candidate and output gate are drawn in light grey, still to come."),
    "input": ("LSTM cell, stage 2 of 4, the input gate and the candidate. Highlighted: h_{t-1} and x_t feed "
              "a sigma box for the input gate i_t and a tanh box for the candidate g_t; their product i_t "
              "times g_t goes up to an addition on the cell-state line. The forget gate from stage 1 is in "
              "black; the output gate is still grey."),
    "cell": ("LSTM cell, stage 3 of 4, the cell update. Highlighted: the whole line along the top, where c_t "
             "is f_t times c_{t-1} plus i_t times g_t: the old cell state is multiplied by the forget gate, "
             "the gated candidate is added, and the result c_t leaves on the right. No matrix product and "
             "no squashing sits on this line."),
    "output": ("LSTM cell, stage 4 of 4, the output gate. Highlighted: h_{t-1} and x_t feed a sigma box for "
               "the output gate o_t; the new cell state c_t is squashed by tanh and multiplied by o_t to "
               "give the new hidden state h_t, which leaves at the bottom right. The rest of the cell is in "
               "black."),
}


def _lstm(ax, stage=None, *, peepholes=False, stages=LSTM_STAGES, dx=0.0, k=0, ends=True) -> None:
    """Draw the LSTM cell of step t+k on `ax`, shifted right by `dx`, with `stage` (one of LSTM_STAGES)
    highlighted, or the whole cell; `ends` labels the states at both ends."""
    pen = _Pen(ax, stages, stage, LSTM_ALSO.get(stage, ()), dx=dx)
    fx = LSTM_X["f"]
    pen.line("c_line_in", "forget", [0.4, fx - 0.24], [TOP, TOP], lw=2.6)
    pen.node("times_f", "forget", fx, TOP, r"$\times$")
    pen.line("c_line_mid", "cell", [fx + 0.24, 4.56], [TOP, TOP], lw=2.6)
    pen.node("plus", "input", 4.8, TOP, "+")
    pen.arrow("c_out", "cell", (5.04, TOP), (9.6, TOP), lw=2.6)
    if ends:
        pen.label("c_prev", None, 0.3, TOP, f"$c_{{{_step(k - 1)}}}$", ha="right")
        pen.label("c_next", "cell", 9.7, TOP, f"$c_{{{_step(k)}}}$", ha="left")
        pen.label("h_prev", None, 0.3, BUS, f"$h_{{{_step(k - 1)}}}$", ha="right")
        pen.label("h_next", "output", 9.7, BUS, f"$h_{{{_step(k)}}}$", ha="left")
    pen.line("bus", None, [0.4, 6.9], [BUS, BUS])
    pen.arrow("x_in", None, (1.3, 0.1), (1.3, BUS - 0.02))
    pen.label("x", None, 1.3, -0.05, f"$x_{{{_step(k)}}}$", va="top")
    gate_stage = {"f": "forget", "i": "input", "g": "input", "o": "output"}
    for name, x in LSTM_X.items():
        s = gate_stage[name]
        pen.arrow(f"to_{name}", s, (x, BUS), (x, GATE - 0.32))
        pen.box(f"gate_{name}", s, x, GATE, r"$\tanh$" if name == "g" else r"$\sigma$",
                TANH_FILL if name == "g" else SIGMA_FILL)
        pen.label(f"label_{name}", s, x + 0.44, GATE - 0.44, f"${name}_t$", size=12, ha="left")
    pen.arrow("f_up", "forget", (fx, GATE + 0.32), (fx, TOP - 0.25))
    pen.node("times_ig", "input", 4.8, MID, r"$\times$")
    pen.arrow("i_up", "input", (4.1, GATE + 0.32), (4.63, MID - 0.17))
    pen.arrow("g_up", "input", (5.5, GATE + 0.32), (4.97, MID - 0.17))
    pen.arrow("ig_up", "input", (4.8, MID + 0.24), (4.8, TOP - 0.25))
    pen.line("c_down", "output", [8.3, 8.3], [TOP, MID + 0.3])
    pen.box("tanh_c", "output", 8.3, MID, r"$\tanh$", TANH_FILL)
    pen.node("times_o", "output", 8.3, GATE, r"$\times$")
    pen.arrow("tanh_down", "output", (8.3, MID - 0.3), (8.3, GATE + 0.25))
    pen.arrow("o_right", "output", (7.28, GATE), (8.06, GATE))
    pen.line("h_down", "output", [8.3, 8.3], [GATE - 0.24, BUS])
    pen.arrow("h_out", "output", (8.3, BUS), (9.6, BUS))
    if peepholes:
        peep = NEW
        pen.arrow("peep_f", "peephole", (1.7, TOP), (fx - 0.35, GATE + 0.2), color=peep, style="--", rad=0.25,
                  lw=2.2)
        pen.arrow("peep_i", "peephole", (1.7, TOP), (3.85, GATE + 0.32), color=peep, style="--", rad=0.35,
                  lw=2.2)
        pen.arrow("peep_o", "peephole", (6.1, TOP), (6.9, GATE + 0.32), color=peep, style="--", rad=-0.2, lw=2.2)
        pen.label("label_pf_pi", "peephole", 1.55, 3.35, r"$p_f, p_i$", color=peep, size=12, ha="right")
        pen.label("label_po", "peephole", 6.25, 3.75, r"$p_o$", color=peep, size=12, ha="left")
    _outline(ax, 7.85 + 0.85, 5.6, dx)


CELL_LIMITS = (-0.6, 10.4), (-0.5, 5.9)   # the axes of one gated cell


def _staged(draw, stage: str | None, stages, alts: dict) -> Diagram:
    """A gated cell drawn by `draw(ax, stage)`: one stage highlighted, or the whole cell. Its equation is not
    drawn: the chapter sets it in MathJax right below."""
    if stage is not None and stage not in stages:
        raise ValueError(f"stage must be one of {stages} or None, got {stage!r}")
    fig, (ax,) = _figure(8.4, 4.6)
    draw(ax, stage)
    _axes(ax, *CELL_LIMITS)
    return Diagram(fig, alts[stage])


def draw_lstm_cell(stage: str | None = None) -> Diagram:
    """The LSTM cell; `stage` in LSTM_STAGES (forget, input, cell, output) highlights that stage's path,
    None draws the whole cell."""
    return _staged(_lstm, stage, LSTM_STAGES, LSTM_ALT)


def draw_peephole_cell() -> Diagram:
    """The LSTM cell in black with the three peephole connections added, dashed, in the highlight colour."""
    fig, (ax,) = _figure(8.4, 5.4)
    _lstm(ax, "peephole", peepholes=True, stages=(*LSTM_STAGES, "peephole"))
    _axes(ax, CELL_LIMITS[0], (-1.5, 5.9))
    ax.text(0.5, 0.03, r"$i_t = \sigma(a^i_t + p_i \odot c_{t-1}), \quad f_t = \sigma(a^f_t + p_f \odot c_{t-1}),"
            r" \quad o_t = \sigma(a^o_t + p_o \odot c_t)$", transform=ax.transAxes, ha="center", va="center",
            fontsize=13, color=NEW, gid="equation")   # kept: the chapter does not set these right below
    alt = ("Diagram of an LSTM cell. The cell state runs along the top from c_{t-1} on the left, through a "
           "multiplication by the forget gate and an addition of input gate times candidate, to c_t on the "
           "right. Below, h_{t-1} and x_t feed four boxes: sigma for f_t, sigma for i_t, tanh for g_t and sigma "
           "for o_t. c_t passes through tanh and is multiplied by o_t to give h_t. Three dashed vermillion "
           "arrows, the peepholes, go from the cell-state line to gates: two from c_{t-1}, before the "
           "multiplication, into the forget and input gates (labelled p_f, p_i), and one from c_t, after the "
           "addition, into the output gate (labelled p_o).")
    return Diagram(fig, alt)


# ---------------------------------------------------------------------------------------------- GRU

GRU_ALSO = {"candidate": ("times_r",), "update": ("h_line_in",)}
GRU_ALT = {
    None: ("Diagram of the GRU cell. One state runs along the top from h_{t-1} on the left to h_t on the "
           "right: it is multiplied by one minus the update gate, and the candidate times the update gate is "
           "added. Below, h_{t-1} and x_t feed a sigma box for the reset gate r_t and a sigma box for the "
           "update gate z_t. r_t multiplies h_{t-1}; that product and x_t feed a tanh box, the candidate n_t. "
           "There is no separate cell state and no output gate."),
    "reset": ("GRU cell, stage 1 of 3, the reset gate. Highlighted: h_{t-1} and x_t feed a sigma box whose "
              "output r_t, between 0 and 1, multiplies the previous state h_{t-1}, taken from the line along "
              "the top. The candidate and the update gate are drawn in light grey, still to come."),
    "candidate": ("GRU cell, stage 2 of 3, the candidate. Highlighted: the reset-scaled state r_t times "
                  "h_{t-1} and the input x_t feed a tanh box whose output is the candidate n_t. With r_t near "
                  "0 the candidate sees the input alone. The update gate is still grey."),
    "update": ("GRU cell, stage 3 of 3, the update gate and the interpolation. Highlighted: h_{t-1} and x_t "
               "feed a sigma box for the update gate z_t. On the line along the top, h_{t-1} is multiplied by "
               "one minus z_t, the candidate n_t is multiplied by z_t, and the two are added into the new state "
               "h_t, which leaves on the right."),
}


def _gru(ax, stage=None) -> None:
    """Draw the GRU cell on `ax`, with `stage` (one of GRU_STAGES) highlighted, or the whole cell."""
    pen = _Pen(ax, GRU_STAGES, stage, GRU_ALSO.get(stage, ()))
    rx, zx, nx, ax_, px = 2.2, 3.6, 6.4, 3.6, 7.6          # reset, update, candidate, (1 - z) product, plus
    pen.line("h_line_in", None, [0.4, ax_ - 0.24], [TOP, TOP], lw=2.6)
    pen.node("times_keep", "update", ax_, TOP, r"$\times$")
    pen.line("h_line_mid", "update", [ax_ + 0.24, px - 0.24], [TOP, TOP], lw=2.6)
    pen.node("plus", "update", px, TOP, "+")
    pen.arrow("h_out", "update", (px + 0.24, TOP), (9.6, TOP), lw=2.6)
    pen.label("h_prev", None, 0.3, TOP, r"$h_{t-1}$", ha="right")
    pen.label("h_next", "update", 9.7, TOP, r"$h_t$", ha="left")
    pen.line("drop", None, [1.0, 1.0], [TOP, BUS])              # h_{t-1} also feeds the gates
    pen.line("bus", None, [1.0, zx], [BUS, BUS])
    pen.arrow("x_in", None, (1.6, 0.1), (1.6, BUS - 0.02))
    pen.label("x", None, 1.6, -0.05, r"$x_t$", va="top")
    for name, x, s in (("r", rx, "reset"), ("z", zx, "update")):
        pen.arrow(f"to_{name}", s, (x, BUS), (x, GATE - 0.32))
        pen.box(f"gate_{name}", s, x, GATE, r"$\sigma$", SIGMA_FILL)
    pen.label("label_r", "reset", rx - 0.44, GATE - 0.44, r"$r_t$", size=12, ha="right")
    pen.label("label_z", "update", zx + 0.44, GATE - 0.44, r"$z_t$", size=12, ha="left")
    pen.node("times_r", "reset", rx, MID, r"$\times$")          # r_t * h_{t-1}
    pen.arrow("r_up", "reset", (rx, GATE + 0.32), (rx, MID - 0.24))
    pen.arrow("h_tap", "reset", (rx, TOP), (rx, MID + 0.24))
    pen.line("x_to_n", "candidate", [1.6, nx], [0.5, 0.5])
    pen.arrow("x_up_n", "candidate", (nx, 0.5), (nx, GATE - 0.32))
    pen.box("cand", "candidate", nx, GATE, r"$\tanh$", TANH_FILL)
    pen.label("label_n", "candidate", nx + 0.44, GATE - 0.44, r"$n_t$", size=12, ha="left")
    # each product is labelled on the wire that carries it: r_t * h_{t-1} on its way into the candidate, and
    # the two weights of h_t = (1 - z_t) * h_{t-1} + z_t * n_t on the branches of z_t
    pen.label("label_rh", "candidate", 4.95, 2.9, r"$r_t \odot h_{t-1}$", size=11, rotation=-16.8,
              rotation_mode="anchor", va="top")
    pen.label("label_keep", "update", zx - 0.3, 4.62, r"$1 - z_t$", size=11, ha="right")
    pen.label("label_zn", "update", 5.6, MID + 0.18, r"$z_t$", size=11, va="bottom")
    pen.line("z_up", "update", [zx, zx], [GATE + 0.32, 4.26])
    pen.node("one_minus", "update", zx, 4.5, "1−", r=0.26)
    pen.arrow("keep_up", "update", (zx, 4.76), (zx, TOP - 0.24))
    pen.line("z_right", "update", [zx, px - 0.24], [MID + 0.1, MID + 0.1])
    pen.node("times_zn", "update", px, MID + 0.1, r"$\times$")
    pen.arrow("n_up", "candidate", (nx, GATE + 0.32), (px - 0.17, MID + 0.1 - 0.17))
    pen.arrow("zn_up", "update", (px, MID + 0.34), (px, TOP - 0.24))
    # drawn last, over a white gap where it crosses z's line
    pen.arrow("rh_to_n", "candidate", (rx + 0.22, MID - 0.1), (nx - 0.4, GATE + 0.12), halo=True)
    _outline(ax, 8.7, 5.6)


def draw_gru_cell(stage: str | None = None) -> Diagram:
    """The GRU cell (the book's convention: z_t weighs the candidate, 1 - z_t the old state); `stage` in
    GRU_STAGES (reset, candidate, update) highlights that stage's path, None draws the whole cell."""
    return _staged(_gru, stage, GRU_STAGES, GRU_ALT)


def draw_lstm_and_gru() -> Diagram:
    """The whole LSTM cell and the whole GRU cell side by side, drawn alike, to compare at a glance."""
    fig, (left, right) = _figure(13.0, 4.4, ncols=2)
    for ax, draw in ((left, _lstm), (right, _gru)):
        draw(ax)
        _axes(ax, *CELL_LIMITS)
    left.set_title("LSTM: two states ($c_t$, $h_t$), three gates", fontsize=13)
    right.set_title("GRU: one state ($h_t$), two gates", fontsize=13)
    alt = ("Two diagrams side by side, drawn alike. Left, the LSTM cell: a cell state c runs along the top, "
           "scaled by the forget gate f_t and added to by the input gate i_t times the candidate g_t; the "
           "hidden state h_t leaves at the bottom as the output gate o_t times tanh of c_t. Three sigma "
           "gates and one tanh candidate. Right, the GRU cell: a single state h runs along the top, multiplied "
           "by one minus the update gate z_t and added to by z_t times the candidate n_t; the reset gate r_t "
           "scales h_{t-1} before it enters the candidate. Two sigma gates, one tanh candidate, no separate "
           "cell and no output gate.")
    return Diagram(fig, alt)


# ------------------------------------------------------------------------------ unrolled chain, legend

# kind -> (draw one cell, distance between cells, right end of its drawing, state wires as (name, height))
CHAINS = {"rnn": (_rnn, 7.0, 6.0, (("h", 1.0),)), "lstm": (_lstm, 11.0, 9.6, (("c", TOP), ("h", BUS)))}
LEGENDS = {
    "rnn": (("box", r"$\tanh$", TANH_FILL, r"$\tanh(x_t W_x + h_{t-1} W_h + b)$: the new state"),
            ("arrow", None, None, "a vector, passed on; a fork copies it"),
            ("outline", None, CELL_FILL, "one step: the same weights in every copy")),
    "lstm": (("box", r"$\sigma$", SIGMA_FILL, r"a gate: $\sigma(x_t W + h_{t-1} U + b)$, in (0, 1)"),
             ("box", r"$\tanh$", TANH_FILL, r"$\tanh(x_t W + h_{t-1} U + b)$, or $\tanh$ alone"),
             ("node", r"$\times$", None, r"elementwise product $\odot$"),
             ("node", "+", None, "elementwise sum"),
             ("arrow", None, None, "a vector, passed on; a fork copies it"),
             ("outline", None, CELL_FILL, "one step: the same weights in every copy")),
}
UNROLLED_ALT = {
    "rnn": ("Three copies of the RNN cell side by side, for the steps t-1, t and t+1. Each copy is a grey "
            "outline with one tanh box labelled W_x, W_h, b; its input x enters from below, and its new "
            "hidden state leaves on the right and enters the next copy as its previous state: h_{t-2} enters "
            "the first copy, h_{t-1} passes from the first to the second, h_t from the second to the third, and "
            "h_{t+1} leaves the third. Below, a legend: an orange box is tanh of x_t W_x + h_{t-1} W_h + b, an "
            "arrow is a vector passed on (a fork copies it), a grey outline is one step, with the same weights "
            "in every copy."),
    "lstm": ("Three copies of the LSTM cell side by side, for the steps t-1, t and t+1. Two wires pass from each "
             "copy to the next: the cell state along the top (c_{t-2} enters the first copy, c_{t-1} and c_t pass "
             "between them, c_{t+1} leaves the last) and the hidden state along the bottom (h_{t-2} to h_{t+1}). "
             "Inside each copy, x enters from below and feeds, with the hidden state, four boxes: sigma for the "
             "forget, input and output gates and tanh for the candidate. Below, a legend: a blue box is a gate, "
             "the sigmoid of x_t W + h_{t-1} U + b, between 0 and 1; an orange box is a tanh, of such a sum or "
             "alone; a circle with a times sign is an elementwise product, a circle with a plus sign an "
             "elementwise sum; an arrow is a vector passed on, a fork copies it; a grey outline is one step, "
             "with the same weights in every copy."),
}


def _legend(ax, kind: str, xlim, columns: int) -> None:
    """The symbols of a drawing, each next to what it means, in rows of `columns` across `xlim`."""
    pen, width = _Pen(ax), (xlim[1] - xlim[0]) / columns
    for i, (shape, text, fill, meaning) in enumerate(LEGENDS[kind]):
        x, y = xlim[0] + (i % columns) * width + 0.6, -(i // columns) * 0.9
        if shape == "box":
            pen.box(f"legend_{i}", None, x, y, text, fill, h=0.5)
        elif shape == "node":
            pen.node(f"legend_{i}", None, x, y, text)
        elif shape == "arrow":
            pen.arrow(f"legend_{i}", None, (x - 0.4, y), (x + 0.4, y))
        else:
            ax.add_patch(FancyBboxPatch((x - 0.35, y - 0.25), 0.7, 0.5, boxstyle="round,pad=0.05",
                                        facecolor=fill, edgecolor="#dddddd", lw=1.0, zorder=0))
        pen.label(f"legend_{i}_text", None, x + 0.75, y, meaning, size=11, ha="left")
    _axes(ax, xlim, (-((len(LEGENDS[kind]) - 1) // columns) * 0.9 - 0.5, 0.5))


def draw_unrolled(kind: str) -> Diagram:
    """Three copies of the cell (`kind` "rnn" or "lstm") side by side over the steps t-1, t, t+1, the states
    passed from each to the next, and a legend of the symbols below."""
    draw, pitch, right, wires = CHAINS[kind]
    columns = 3 if kind == "lstm" else 2
    rows = -(-len(LEGENDS[kind]) // columns)
    height = 5.9 if kind == "lstm" else 3.9
    fig = Figure(figsize=(13.0, 13.0 * (height + 0.8) / (3 * pitch) + 0.45 * rows), dpi=110, layout="constrained")
    ax, legend = fig.subplots(2, 1, height_ratios=[(height + 0.8) / (3 * pitch) * 13.0, 0.45 * rows])
    for k in (-1, 0, 1):
        draw(ax, dx=(k + 1) * pitch, k=k, ends=False)
    pen = _Pen(ax)
    for name, y in wires:                       # the state between two copies, and at both ends of the chain
        pen.label(f"{name}_first", None, 0.3, y, f"${name}_{{t-2}}$", ha="right")
        for k in (-1, 0, 1):
            end = (k + 1) * pitch + right
            if k < 1:
                pen.line(f"{name}_pass_{k}", None, [end, end + pitch - right + 0.4], [y, y], lw=2.6 if name == "c"
                         else 1.6)
            pen.label(f"{name}_pass_{k}_label", None, end + (pitch - right + 0.4) / 2 if k < 1 else end + 0.1,
                      y + 0.12, f"${name}_{{{_step(k)}}}$", va="bottom", ha="center" if k < 1 else "left")
    xlim = (-0.9, 2 * pitch + right + 0.9)
    _axes(ax, xlim, (-0.8, height))
    _legend(legend, kind, xlim, columns)
    return Diagram(fig, UNROLLED_ALT[kind])


# ------------------------------------------------------------------------------ computational graph

def draw_lstm_graph() -> Diagram:
    """The computational graph of one LSTM step, with the two paths by which the loss reaches c_{t-1}:
    through f_t on the cell-state line (vermillion), and through h_{t-1} = o_{t-1} * tanh(c_{t-1}) into
    the next step's gates (blue)."""
    fig, (ax,) = _figure(9.6, 5.8)
    one, two = NEW, SECOND
    size = {}  # node name -> (x, y, half width, half height), for edges that stop at the node's border

    def var(name, x, y, text, color="black"):
        size[name] = (x, y, 0.46, 0.3)
        ax.add_patch(FancyBboxPatch((x - 0.42, y - 0.26), 0.84, 0.52, boxstyle="round,pad=0.04",
                                    facecolor="white", edgecolor=color, lw=1.8, zorder=3))
        ax.text(x, y, text, ha="center", va="center", fontsize=13, zorder=4)

    def op(name, x, y, text, color="black", half_width=0.27):
        size[name] = (x, y, half_width + 0.02, 0.29)
        if half_width > 0.27:
            ax.add_patch(FancyBboxPatch((x - half_width + 0.1, y - 0.17), 2 * half_width - 0.2, 0.34,
                                        boxstyle="round,pad=0.1", facecolor="#eeeeee", edgecolor=color,
                                        lw=1.8, zorder=3))
        else:
            ax.add_patch(Circle((x, y), 0.27, facecolor="#eeeeee", edgecolor=color, lw=1.8, zorder=3))
        ax.text(x, y, text, ha="center", va="center", fontsize=11 if len(text) > 3 else 12, zorder=4)

    def border(name, toward):
        x, y, w, h = size[name]
        dx, dy = toward[0] - x, toward[1] - y
        t = min(w / abs(dx) if dx else float("inf"), h / abs(dy) if dy else float("inf"))
        return x + t * dx, y + t * dy

    def edge(a, b, color="black", lw=1.5):
        start, end = border(a, size[b][:2]), border(b, size[a][:2])
        style = "--" if color == two else "-"          # path 2 is dashed: the two paths differ by more than colour
        ax.annotate("", xy=end, xytext=start, zorder=2, arrowprops=dict(arrowstyle="-|>", lw=lw, color=color,
                                                                       linestyle=style, shrinkA=0, shrinkB=0))

    top, gates, pre, bottom = 5.0, 3.3, 1.9, 0.6
    thick = 2.6
    # the end of step t-1: h_{t-1} = o_{t-1} * tanh(c_{t-1})
    var("c_prev", 0.6, top, r"$c_{t-1}$", one)
    op("tanh_prev", 0.6, 3.3, r"$\tanh$", two)
    op("times_prev", 0.6, 1.9, r"$\odot$", two)
    var("o_prev", -0.9, 1.9, r"$o_{t-1}$")
    var("h_prev", 0.6, bottom, r"$h_{t-1}$", two)
    edge("c_prev", "tanh_prev", two, thick)
    edge("tanh_prev", "times_prev", two, thick)
    edge("o_prev", "times_prev")
    edge("times_prev", "h_prev", two, thick)
    ax.plot([1.55, 1.55], [-1.1, 5.9], color="#999999", ls=":", lw=1.2, zorder=0)
    ax.text(1.45, 5.9, "step $t-1$", ha="right", va="top", fontsize=11, color="#666666")
    ax.text(1.65, 5.9, "step $t$", ha="left", va="top", fontsize=11, color="#666666")
    # step t: a_t = x_t W + h_{t-1} U + b, then the four gates
    op("affine", 2.6, bottom, r"$W, U, b$", two, half_width=0.62)
    var("x", 2.6, -0.7, r"$x_t$")
    var("a", 4.3, bottom, r"$a_t$", two)
    edge("h_prev", "affine", two, thick)
    edge("x", "affine")
    edge("affine", "a", two, thick)
    for name, x in {"f": 3.4, "i": 4.6, "g": 5.8, "o": 7.0}.items():
        op(f"act_{name}", x, pre, r"$\tanh$" if name == "g" else r"$\sigma$", two)
        var(name, x, gates, f"${name}_t$", two)
        edge("a", f"act_{name}", two, thick)
        edge(f"act_{name}", name, two, thick)
    # c_t = f_t * c_{t-1} + i_t * g_t ; h_t = o_t * tanh(c_t)
    op("times_f", 3.4, top, r"$\odot$", one)
    op("times_ig", 5.2, 4.2, r"$\odot$", two)
    op("plus", 6.2, top, "+")
    var("c", 7.4, top, r"$c_t$")
    op("tanh_c", 8.6, 4.25, r"$\tanh$")
    op("times_o", 8.6, gates, r"$\odot$")
    var("h", 8.6, pre, r"$h_t$")
    edge("c_prev", "times_f", one, 3.0)
    edge("f", "times_f", two, thick)
    edge("i", "times_ig", two, thick)
    edge("g", "times_ig", two, thick)
    edge("times_f", "plus", one, 3.0)
    edge("times_ig", "plus", two, thick)
    edge("plus", "c", "black", 2.0)
    edge("c", "tanh_c")
    edge("tanh_c", "times_o")
    edge("o", "times_o", two, thick)
    edge("times_o", "h")
    # f_t is path 1's term only: path 2 adds the terms through h_{t-1}, so f_t is not all of dc_t/dc_{t-1}
    ax.text(4.8, top + 0.3, r"path 1, the direct term: $\delta c_t \odot f_t$", color=one, fontsize=12,
            ha="center", va="bottom", gid="path_1")
    ax.text(9.3, 0.1, "path 2: through $h_{t-1}$\ninto every gate of step $t$", color=two, fontsize=12,
            ha="right", va="center")
    ax.set_xlim(-1.5, 9.5)
    ax.set_ylim(-1.2, 6.0)
    ax.set_aspect("equal")
    ax.axis("off")
    alt = ("Computational graph of one LSTM step. Variables are white boxes, operations grey circles (the affine"
           " map a grey box labelled W, U, b). The old cell state c_{t-1} has two ways to the loss. Path 1, in "
           "vermillion, runs along the top: c_{t-1} is multiplied elementwise by f_t and the sum with i_t times "
           "g_t is c_t, so along this path the gradient of c_t comes back multiplied by f_t: the direct term only. "
           "Path 2, in dashed blue, starts at the end of step t-1: c_{t-1} "
           "goes through tanh and is multiplied by o_{t-1} to give h_{t-1}, which with x_t forms the pre-"
           "activation a_t of step t, and from there reaches all four gates f_t, i_t, g_t and o_t, hence c_t and"
           " h_t. The backward pass adds the gradients of both paths.")
    return Diagram(fig, alt)
