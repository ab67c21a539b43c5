"""CMC curve as a PNG (matplotlib, Agg backend: works headless)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

import numpy as np


def plot_cmc(cmc: np.ndarray | Mapping[str, np.ndarray], path: str | os.PathLike, title: str = "CMC",
             max_rank: int | None = None) -> Path:
    """Plot one CMC curve or several (``{label: cmc}``) to ``path``; returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = dict(cmc) if isinstance(cmc, Mapping) else {"CMC": cmc}
    if not curves:
        raise ValueError("plot_cmc: no curve to plot")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    try:
        for label, values in curves.items():
            values = np.asarray(values, np.float64).reshape(-1)
            if len(values) == 0 or not np.isfinite(values).all():
                raise ValueError(f"plot_cmc: curve {label!r} is empty or not finite")
            n = len(values) if max_rank is None else min(int(max_rank), len(values))
            ranks = np.arange(1, n + 1)
            ax.plot(ranks, 100.0 * values[:n], marker="o" if n <= 20 else None, ms=3,
                    label=f"{label} (rank-1 {100 * values[0]:.1f}%)")
        ax.set_xlabel("rank")
        ax.set_ylabel("matching rate (%)")
        ax.set_ylim(0, 100)
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
        ax.legend(loc="lower right")
        fig.tight_layout()
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path
