"""The book's figure style and the diagrams its chapters draw."""
from __future__ import annotations

import matplotlib as mpl
from cycler import cycler
from matplotlib.patches import FancyBboxPatch

# Okabe and Ito's colour-blind-safe palette, most distinct colours first (yellow is faint on white).
OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#E69F00", "#56B4E9", "#CC79A7", "#000000", "#F0E442")
# A line style per colour, so that lines stay apart in greyscale and for readers who see no colour at all.
LINE_STYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (8, 2)), (0, (1, 3)), (0, (3, 1, 3, 4)))
# Bars told apart by colour get a hatch too, in this order (dots get a marker of their own, lines a style).
HATCHES = ("", "//", "..", "xx", "\\\\", "++", "oo", "--")


def use_book_style() -> None:
    """Set matplotlib's defaults for the book: the Okabe-Ito colour cycle, each colour with its own line style
    (no line told apart by colour alone), readable fonts, a light grid."""
    mpl.rcParams.update({
        "axes.prop_cycle": cycler(color=OKABE_ITO) + cycler(linestyle=LINE_STYLES),
        "figure.figsize": (7.0, 3.6),
        "figure.dpi": 110,
        "savefig.dpi": 110,
        "font.size": 11,
        "axes.titlesize": 12,
        "axes.labelsize": 11,
        "legend.fontsize": 10,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "lines.linewidth": 2.0,
    })


def _box(ax, x, y, text, color, width=1.4, height=0.6):
    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                                boxstyle="round,pad=0.05", facecolor=color, edgecolor="black", alpha=0.9))
    ax.text(x, y, text, ha="center", va="center", fontsize=11)


def _arrow(ax, start, end, label=None, label_offset=(0.0, 0.18)):
    ax.annotate("", xy=end, xytext=start, arrowprops=dict(arrowstyle="->", lw=1.6, color="black"))
    if label:
        ax.text((start[0] + end[0]) / 2 + label_offset[0], (start[1] + end[1]) / 2 + label_offset[1], label,
                ha="center", va="center", fontsize=11)


def draw_unrolled_rnn(ax, steps: int = 4) -> None:
    """Draw a vanilla RNN unrolled over `steps` time steps: inputs below, states to the right and above.

    Every cell is labelled with the same parameters, W_x, W_h and b, to show that they are shared over time.
    """
    gap, half = 2.3, 0.75  # distance between cells; half a cell's width plus a margin
    ax.text(-0.5, 0, "$h_0$", ha="center", va="center", fontsize=12)
    for t in range(1, steps + 1):
        x = gap * t - 1.0
        _box(ax, x, 0, "$W_x,\\ W_h,\\ b$", OKABE_ITO[4])
        _box(ax, x, -1.5, f"$x_{{{t}}}$", "white", width=0.6, height=0.45)
        _box(ax, x, 1.5, f"$h_{{{t}}}$", OKABE_ITO[3], width=0.6, height=0.45)
        _arrow(ax, (x, -1.25), (x, -0.33))
        _arrow(ax, (x, 0.33), (x, 1.25))
        _arrow(ax, (-0.25 if t == 1 else x - gap + half, 0), (x - half, 0), f"$h_{{{t - 1}}}$" if t > 1 else None)
    end = gap * steps - 1.0 + half
    _arrow(ax, (end, 0), (end + 0.6, 0), f"$h_{{{steps}}}$")
    ax.text(end + 0.85, 0, r"$\cdots$", ha="center", va="center", fontsize=14)
    ax.set_xlim(-0.9, end + 1.1)
    ax.set_ylim(-2.0, 2.0)
    ax.set_aspect("equal")
    ax.axis("off")
