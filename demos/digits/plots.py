"""The training run's pictures, drawn with matplotlib (no screen needed: the Agg backend)."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; must be chosen before pyplot is imported
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from engine.system.files import atomic_write  # noqa: E402

# Weights: blue positive, red negative, white zero (the explainer's colours).
WEIGHT_CMAP = "RdBu"


def save_figure(fig, path: Path, close: bool = True) -> Path:
    """Write ``fig`` to ``path`` (its format from the suffix) atomically, with no date or
    random ids in it, so that the same figure gives the same bytes."""
    path = Path(path)
    buffer = io.BytesIO()
    kind = path.suffix.lstrip(".") or "png"
    metadata = {"Date": None} if kind == "svg" else {}
    with matplotlib.rc_context({"svg.hashsalt": "glassgrad"}):
        fig.savefig(buffer, format=kind, dpi=120, bbox_inches="tight", metadata=metadata)
    if close:
        plt.close(fig)
    return atomic_write(path, buffer.getvalue(), "plot")


def curves(history: list[dict], path: Path) -> Path:
    """Training loss, and train and test accuracy, per epoch."""
    epochs = [h["epoch"] for h in history]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    left.semilogy(epochs, [h["loss"] for h in history], "o-", color="tab:purple")
    left.set(xlabel="epoch", ylabel="mean cross-entropy (log scale)", title="Training loss")
    right.plot(epochs, [100 * h["train_accuracy"] for h in history], "o-", label="train")
    right.plot(epochs, [100 * h["test_accuracy"] for h in history], "s-", label="test")
    right.set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy")
    right.legend(loc="lower right")
    for ax in (left, right):
        ax.grid(alpha=0.3)
    return save_figure(fig, path)


def confusion(counts: np.ndarray, path: Path) -> Path:
    """The confusion matrix: rows are true digits, columns what the network said."""
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.imshow(counts, cmap="Blues")
    for t in range(10):
        for p in range(10):
            if counts[t, p]:
                dark = counts[t, p] > counts.max() / 2
                ax.text(p, t, str(counts[t, p]), ha="center", va="center", fontsize=8,
                        color="white" if dark else "black")
    ax.set(xticks=range(10), yticks=range(10), xlabel="predicted", ylabel="true",
           title=f"Confusion matrix ({counts.trace()} of {counts.sum()} right)")
    return save_figure(fig, path)


def misclassified(images: np.ndarray, labels: np.ndarray, predicted: np.ndarray,
                  path: Path, most: int = 24) -> Path:
    """The test digits the network got wrong, with what it said and what was true."""
    wrong = np.flatnonzero(predicted != labels)[:most]
    cols = 8
    rows = max(1, -(-len(wrong) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.3, rows * 1.55), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, wrong, strict=False):
        ax.imshow(images[i], cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(f"said {predicted[i]}\ntrue {labels[i]}", fontsize=8, color="firebrick")
    if not len(wrong):
        axes[0, 0].text(0, 0.5, "no mistakes", fontsize=12)
    total = int(np.sum(predicted != labels))
    fig.suptitle(f"Misclassified test digits ({len(wrong)} of {total} shown)", y=1.02)
    return save_figure(fig, path)


def first_layer_weights(model, side: int, path: Path) -> Path:
    """Each first-layer neuron's weights as a side×side image: blue positive, red negative."""
    neurons = model.layers[0].neurons
    weights = model.layers[0].arrays()[0].reshape(-1, side, side)
    limit = np.abs(weights).max()
    cols = min(8, len(neurons))
    rows = -(-len(neurons) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.2, rows * 1.3), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for j, (ax, w) in enumerate(zip(axes.flat, weights, strict=False)):
        image = ax.imshow(w, cmap=WEIGHT_CMAP, vmin=-limit, vmax=limit)
        ax.set_title(f"neuron {j}", fontsize=7)
    fig.colorbar(image, ax=axes, shrink=0.6, label="weight (blue +, red −)")
    fig.suptitle("First-layer weights, one image per hidden neuron", y=1.0)
    return save_figure(fig, path)
