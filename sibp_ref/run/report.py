"""The figure of ``sibp-ref compare``: every method side by side, per epoch and per second.

Four panels: training loss and test accuracy (training accuracy dashed) against epochs,
and the same against the seconds spent in the steps, so that a method that needs fewer
epochs but costs more per epoch is judged both ways. The settings go in the title; a
run that diverged ends with a cross and says so in the legend.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["plot_compare", "method_label"]

COLORS = {
    "sgd": "#7f7f7f",
    "momentum": "#8c564b",
    "nesterov": "#bcbd22",
    "adam": "#1f77b4",
    "proxbp": "#2ca02c",
    "bcd": "#9467bd",
    "sibp": "#d62728",
}
GREEK = {"eta": "η", "lam": "λ", "gamma": "γ", "rho": "ρ", "alpha": "α", "lr": "lr"}


def method_label(cfg, hist) -> str:
    """``SIBP (η=10, λ=0.5)``, with notes for full-batch/square-loss methods."""
    from ..methods import method_spec

    spec = method_spec(cfg.method)
    hyper = hist.settings.get("config", {}).get("hyper", {})
    kv = ", ".join(
        f"{GREEK.get(k, k)}={v:g}"
        if isinstance(v, (int, float)) and not isinstance(v, bool)
        else f"{k}={v}"
        for k, v in hyper.items()
    )
    label = f"{spec.label or spec.name} ({kv})"
    if spec.full_batch:
        label += f"\n  full batch n={hist.settings.get('n_train')}, {spec.loss or ''} loss"
    if hist.diverged:
        label += "  [diverged]"
    return label


def _draw_run(axes, cfg, h) -> None:
    """One run's curves on the four panels; a cross where a diverged run broke."""
    from ..methods import method_spec

    (a_le, a_lt), (a_ae, a_at) = axes
    c = COLORS.get(cfg.method)
    lab = method_label(cfg, h)
    ep, t = h.column("epoch"), h.column("time")
    t = np.where(t > 0, t, np.nan)  # the time axis is logarithmic: epoch 0 is left out
    loss, te, tr = h.column("train_loss"), h.column("test_acc"), h.column("train_acc")
    # a method trained on another loss (BCD: square) is drawn dotted: not comparable
    style = ":o" if method_spec(cfg.method).loss not in (None, "cross_entropy") else "-o"
    for ax, x in ((a_le, ep), (a_lt, t)):
        ax.plot(x, loss, style, ms=3, color=c, label=lab)
    for ax, x in ((a_ae, ep), (a_at, t)):
        ax.plot(x, te, "-o", ms=3, color=c)
        ax.plot(x, tr, "--", lw=1, color=c, alpha=0.7)
    if h.diverged:
        ok = np.isfinite(loss)
        i = int(np.flatnonzero(ok)[-1]) if ok.any() else 0
        for ax, x in ((a_le, ep), (a_lt, t)):
            ax.plot(x[i], loss[i], "x", ms=10, mew=2, color=c)


def _default_title(results) -> str:
    """The settings of the first run: data, network, initialisation, batch, epochs."""
    cfg, h = results[0]
    s = h.settings
    sizes = "-".join(str(v) for v in s.get("sizes", []))
    n_te = s.get("n_test")
    data = (
        f"{cfg.dataset}: {s.get('n_train')} training"
        + (f" / {n_te} test" if n_te else "")
        + " samples"
    )
    bcd = any(c.method == "bcd" for c, _ in results)
    return (
        f"{data}\n"
        f"net {sizes} ({cfg.activation}), init N(0, {cfg.init_std}), batch "
        f"{cfg.batch_size} ({cfg.sampling}), {cfg.epochs} epochs, "
        f"{cfg.dtype} on {cfg.backend}, seed {cfg.seed}; loss: softmax cross-entropy"
        + (" (BCD, dotted: its square loss)" if bcd else "")
    )


def plot_compare(results, path: str | Path, *, title: str | None = None) -> Path:
    """Write the comparison figure of ``[(RunConfig, History), ...]`` to ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(12, 8.2), sharex="col")
    (a_le, a_lt), (a_ae, a_at) = axes
    for cfg, h in results:
        _draw_run(axes, cfg, h)
    a_le.set_ylabel("training loss (whole training set)")
    a_ae.set_ylabel("accuracy: test (solid), training (dashed)")
    a_ae.set_xlabel("epoch")
    a_at.set_xlabel("seconds spent in training steps (log scale)")
    a_at.set_xscale("log")
    for ax in (a_le, a_lt):
        ax.set_yscale("log")
    for ax in axes.ravel():
        ax.grid(True, which="both", alpha=0.3)
    for ax in (a_ae, a_at):
        ax.set_ylim(0, 1.0)
    from matplotlib.ticker import MaxNLocator

    a_ae.xaxis.set_major_locator(MaxNLocator(integer=True))
    a_le.set_title("per epoch")
    a_lt.set_title("per wall-clock second")
    if title is None and results:
        title = _default_title(results)
    fig.suptitle(title, fontsize=10)
    handles, labels = a_le.get_legend_handles_labels()
    fig.legend(
        handles, labels, loc="lower center", ncol=min(len(labels), 3), fontsize=9, frameon=False
    )
    fig.tight_layout(rect=(0, 0.09 if len(labels) > 3 else 0.06, 1, 1))
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
