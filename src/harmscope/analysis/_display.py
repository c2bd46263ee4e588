"""Figures for the Safe-Embed tasks, in scikit-learn's Display style (``Display.from_x(...)`` computes,
``.plot(ax=None)`` draws, the figure and axes are kept as ``figure_`` / ``ax_``).

matplotlib and scikit-learn are imported inside the methods. Figures are built on matplotlib's
object API with the Agg canvas (no pyplot), so nothing here changes the user's global backend or opens
a window; save with ``display.figure_.savefig(path)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["ChallengingHeatmapDisplay", "EmbeddingScatterDisplay"]


def _new_axes(figsize: tuple[float, float]) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(figure)
    return figure.subplots()


class EmbeddingScatterDisplay:
    """2-D scatter of embeddings coloured by category (t-SNE by default).

    Parameters
    ----------
    coords : array of shape (n, 2)
        The 2-D positions (e.g. from t-SNE).
    categories : sequence of n str
        The category of each point (one colour each).
    title : str, optional
    """

    def __init__(self, *, coords: ArrayLike, categories: Sequence[str], title: str | None = None) -> None:
        xy = np.asarray(coords, dtype=np.float64)
        if xy.ndim != 2 or xy.shape[1] != 2:
            raise ValueError(f"coords must have shape (n, 2); got {xy.shape}")
        if len(categories) != xy.shape[0]:
            raise ValueError(f"got {xy.shape[0]} points but {len(categories)} categories")
        self.coords = xy
        self.categories = [str(c) for c in categories]
        self.title = title

    @classmethod
    def from_embeddings(cls, embeddings: ArrayLike, categories: Sequence[str], *, random_state: int = 0,
                        perplexity: float = 30.0, title: str | None = None, ax: Any = None) -> EmbeddingScatterDisplay:
        """Standardise the (n, dim) embeddings, project them to 2-D with t-SNE (seeded), and plot.

        Standardising before t-SNE follows the paper's figure code. ``perplexity`` is capped at
        (n - 1) / 3 so that small inputs work.
        """
        from sklearn.manifold import TSNE
        from sklearn.preprocessing import StandardScaler

        x = np.asarray(embeddings, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] < 4:
            raise ValueError(f"t-SNE needs a 2-D array of at least 4 rows; got shape {x.shape}")
        scaled = StandardScaler().fit_transform(x)
        tsne = TSNE(n_components=2, random_state=random_state, init="pca",
                    perplexity=min(perplexity, (x.shape[0] - 1) / 3))
        coords: NDArray[np.float64] = tsne.fit_transform(scaled)
        return cls(coords=coords, categories=categories, title=title).plot(ax=ax)

    def plot(self, ax: Any = None, *, point_size: float = 14.0) -> EmbeddingScatterDisplay:
        """Draw on ``ax`` (a new figure if None); one colour and legend entry per category."""
        from matplotlib import colormaps

        if ax is None:
            ax = _new_axes((11.0, 7.0))
        names = list(dict.fromkeys(self.categories))
        cmap = colormaps["tab20"]
        # tab20 alternates dark/light shades of 10 hues: use the 10 dark ones first so that neighbouring
        # categories never get two shades of one hue.
        palette = [cmap(j) for j in [*range(0, 20, 2), *range(1, 20, 2)]]
        cats = np.asarray(self.categories, dtype=object)
        for i, name in enumerate(names):
            mask = cats == name
            ax.scatter(self.coords[mask, 0], self.coords[mask, 1], s=point_size, color=palette[i % 20],
                       label=_shorten(name), alpha=0.85, linewidths=0)
        ax.set_xlabel("t-SNE 1")
        ax.set_ylabel("t-SNE 2")
        if self.title:
            ax.set_title(self.title)
        ax.legend(title="category", loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize="small",
                  markerscale=1.5, frameon=False)
        self.ax_ = ax
        self.figure_ = ax.figure
        return self


class ChallengingHeatmapDisplay:
    """Heatmap of Safety-Challenging scores: XSTest types (rows) × encoders (columns), values annotated.

    Parameters
    ----------
    scores : mapping encoder -> {type: score}
        Every encoder must report the same types; row order follows the first encoder.
    """

    def __init__(self, *, scores: Mapping[str, Mapping[str, float]], title: str | None = None) -> None:
        if not scores:
            raise ValueError("scores is empty: give at least one encoder's per-type results")
        self.encoders = list(scores)
        self.types = list(next(iter(scores.values())))
        for enc, row in scores.items():
            if set(row) != set(self.types):
                raise ValueError(f"encoder {enc!r} reports types {sorted(row)}, expected {sorted(self.types)}")
        self.values = np.array([[scores[e][t] for e in self.encoders] for t in self.types], dtype=np.float64)
        self.title = title

    def plot(self, ax: Any = None, *, cmap: str = "Reds") -> ChallengingHeatmapDisplay:
        """Draw on ``ax`` (a new figure if None)."""
        if ax is None:
            ax = _new_axes((1.6 * len(self.encoders) + 3.5, 0.45 * len(self.types) + 1.8))
        image = ax.imshow(self.values, cmap=cmap, aspect="auto", vmin=0.0, vmax=max(1e-9, float(self.values.max())))
        ax.set_xticks(range(len(self.encoders)), self.encoders, rotation=30, ha="right")
        ax.set_yticks(range(len(self.types)), self.types)
        threshold = float(self.values.max()) * 0.6
        for i in range(len(self.types)):
            for j in range(len(self.encoders)):
                value = self.values[i, j]
                ax.text(j, i, f"{value:.3f}", ha="center", va="center", fontsize=9,
                        color="white" if value > threshold else "black")
        ax.figure.colorbar(image, ax=ax, label="normalised cosine (unsafe vs safe pair)")
        if self.title:
            ax.set_title(self.title)
        self.ax_ = ax
        self.figure_ = ax.figure
        return self


def _shorten(name: str, width: int = 48) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"
