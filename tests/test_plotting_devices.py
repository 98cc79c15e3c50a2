"""The book's figure style and device helpers (`rnncourse.plotting`, `rnncourse.devices`)."""
import time

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from rnncourse import devices, plotting  # noqa: E402

pytestmark = pytest.mark.unit


@pytest.fixture
def restore_rcparams():
    saved = matplotlib.rcParams.copy()
    yield
    matplotlib.rcParams.update(saved)


@pytest.mark.parametrize("available, expected", [(False, "cpu"), (True, "cuda")])
def test_pick_device_follows_cuda_availability(monkeypatch, available, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: available)
    assert devices.pick_device() == torch.device(expected)


def test_device_name_names_the_gpu_or_the_cpu_model(monkeypatch):
    cpu = devices.device_name("cpu")
    assert cpu.startswith("CPU: ") and len(cpu) > len("CPU: ")
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device: "NVIDIA H100 80GB HBM3")
    assert devices.device_name(torch.device("cuda", 0)) == "NVIDIA H100 80GB HBM3"


def test_cpu_flags_reads_the_flags_line(tmp_path, monkeypatch):
    import builtins
    fake = tmp_path / "cpuinfo"
    fake.write_text("model name\t: Some CPU\nflags\t\t: fpu sse2 avx512f avx512_bf16\n")
    real_open = builtins.open
    monkeypatch.setattr(builtins, "open",
                        lambda path, *a, **k: real_open(fake if path == "/proc/cpuinfo" else path, *a, **k))
    assert devices.cpu_flags() == {"fpu", "sse2", "avx512f", "avx512_bf16"}
    assert devices.device_name("cpu") == "CPU: Some CPU"


def test_time_call_counts_warmup_and_repeats_and_returns_the_best_time():
    calls = []
    seconds = devices.time_call(lambda: calls.append(sum(range(10_000))), repeat=4, warmup=2)
    assert len(calls) == 6
    assert isinstance(seconds, float) and 0 < seconds < 1


def test_time_call_returns_the_fastest_run():
    delays = iter([0.0, 0.2, 0.02, 0.1])
    seconds = devices.time_call(lambda: time.sleep(next(delays)), repeat=3, warmup=1)
    assert 0.02 <= seconds < 0.1


def test_time_call_synchronises_the_gpu_around_each_run_only_on_cuda(monkeypatch):
    syncs = []
    monkeypatch.setattr(torch.cuda, "synchronize", lambda *a: syncs.append(1))
    devices.time_call(lambda: None, repeat=3, warmup=1, device="cuda")
    assert len(syncs) == 6
    devices.time_call(lambda: None, repeat=3, warmup=1, device=torch.device("cpu"))
    devices.time_call(lambda: None, repeat=3, warmup=1)
    assert len(syncs) == 6


def test_time_call_rejects_zero_repeats():
    with pytest.raises(ValueError):
        devices.time_call(lambda: None, repeat=0)


def test_use_book_style_sets_the_okabe_ito_cycle_and_a_grid(restore_rcparams):
    matplotlib.rcdefaults()
    plotting.use_book_style()
    assert matplotlib.rcParams["axes.prop_cycle"].by_key()["color"] == list(plotting.OKABE_ITO)
    assert matplotlib.rcParams["axes.grid"]
    fig, ax = plt.subplots()
    first, = ax.plot([0, 1])
    assert matplotlib.colors.to_hex(first.get_color()) == plotting.OKABE_ITO[0].lower()
    plt.close(fig)


def test_lines_differ_by_style_as_well_as_by_colour(restore_rcparams):
    """A reader who cannot tell the colours apart tells the lines apart: each colour of the cycle has its own
    line style, also when a chapter sets the colour by hand."""
    plotting.use_book_style()
    fig, ax = plt.subplots()
    lines = [ax.plot([0, 1])[0] for _ in plotting.OKABE_ITO] + [ax.plot([0, 1], color="C0")[0] for _ in range(2)]
    dashes = [str(line._dash_pattern) for line in lines]   # (offset, on-off sequence): what is drawn
    assert len(set(dashes[:8])) == 8, dashes
    assert dashes[8] != dashes[9], dashes
    assert len(set(plotting.HATCHES)) == len(plotting.HATCHES)
    plt.close(fig)


def test_okabe_ito_palette_has_eight_distinct_colours():
    assert len(set(plotting.OKABE_ITO)) == 8
    assert all(matplotlib.colors.is_color_like(c) for c in plotting.OKABE_ITO)


def test_unrolled_diagram_labels_every_input_state_and_shared_cell():
    fig, ax = plt.subplots()
    plotting.draw_unrolled_rnn(ax, steps=3)
    labels = [t.get_text() for t in ax.texts]
    assert {"$h_0$", "$x_{1}$", "$x_{2}$", "$x_{3}$", "$h_{1}$", "$h_{2}$", "$h_{3}$"} <= set(labels)
    assert "$x_{4}$" not in labels
    assert len([t for t in labels if "W_x" in t and "W_h" in t]) == 3
    plt.close(fig)
