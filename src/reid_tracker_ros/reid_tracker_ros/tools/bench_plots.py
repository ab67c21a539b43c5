"""The tracker benchmark's per-family summary as a picture: one panel per tracker, mean HOTA per
family of the validation suite (and the worst family, the number defaults are chosen by), one
bar per side (ours, ours on motion only, BoxMOT, Ultralytics). Tools only; matplotlib (a
dependency of ultralytics) draws off-screen."""
from __future__ import annotations

from pathlib import Path

import numpy as np

SIDE_STYLE = {  # side key of bench_tracker.family_summary -> (legend label, colour)
    "ours": ("ours", "#1f77b4"),
    "ours_motion_only": ("ours, motion only", "#9ecae1"),
    "boxmot": ("BoxMOT", "#d62728"),
    "ultralytics": ("Ultralytics", "#ff7f0e"),
}


def plot_families(families: dict, path: str | Path, title: str = "") -> Path:
    """Write ``families`` (``bench_tracker.family_summary``'s output: tracker -> side ->
    family -> {"HOTA", "IDF1"}, plus "worst") as a PNG at ``path``; returns the path. A side
    that did not run (None, or no entry) leaves a gap; a motion-only variant identical to ours
    is still drawn, so equal bars read as "appearance changed nothing"."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    if not families:
        raise ValueError("no family summary to plot (did any tracker run on a suite folder?)")
    names = list(families)
    fams = sorted({f for sides in families.values() for m in sides.values() if m for f in m if f != "worst"})
    groups = fams + ["worst"]
    cols = min(4, len(names))
    rows = (len(names) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), sharey=True, squeeze=False)
    width = 0.8 / len(SIDE_STYLE)
    x = np.arange(len(groups))
    drawn: set[str] = set()
    lowest = 100.0
    for ax, name in zip(axes.flat, names):
        sides = families[name]
        for k, (side, (label, colour)) in enumerate(SIDE_STYLE.items()):
            m = sides.get(side)
            if not m:
                continue
            h = [m[g]["HOTA"] if g in m else np.nan for g in groups]
            ax.bar(x + (k - (len(SIDE_STYLE) - 1) / 2) * width, h, width, color=colour, label=label)
            drawn.add(side)
            lowest = min(lowest, float(np.nanmin(h)))
        ax.set_title(name)
        ax.set_xticks(x, groups, rotation=30, ha="right", fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel("mean HOTA")
    # bars start near the lowest value, not at 0: differences of a few HOTA must be visible
    axes.flat[0].set_ylim(max(0.0, 10.0 * np.floor(lowest / 10.0) - 10.0), 100.0)
    handles = [Patch(color=colour, label=label) for side, (label, colour) in SIDE_STYLE.items() if side in drawn]
    fig.legend(handles=handles, loc="upper center", ncol=len(handles), frameon=False)
    if title:
        fig.suptitle(title, y=0.005, va="bottom", fontsize=9)
    fig.tight_layout(rect=(0, 0.03, 1, 0.94))
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out
