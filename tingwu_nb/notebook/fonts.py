"""A font family list with CJK glyphs for the plots, without touching matplotlib's global rcParams.

:func:`font_family` registers the first CJK font found (Debian ``fonts-wqy-microhei``,
``fonts-noto-cjk``, or one already known to matplotlib) with ``fontManager.addfont`` and returns
``["DejaVu Sans", <cjk family>]``: matplotlib (>= 3.6) falls back glyph by glyph along the list,
so Latin text keeps DejaVu and Chinese/Japanese/Korean text gets real glyphs instead of boxes.
When no CJK font exists it warns once (:class:`CJKFontWarning`): install ``fonts-wqy-microhei``
(``scripts/install-system-deps.sh``) or pass a path with :func:`use_font`.
The plot functions call :func:`apply_fonts` on each Axes they draw; callers do nothing.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from matplotlib import font_manager
from matplotlib.axes import Axes

__all__ = ["CJK_FONT_PATHS", "CJKFontWarning", "apply_fonts", "cjk_family", "font_family", "use_font"]

#: Files tried in order (Debian / Ubuntu / Fedora packages of free CJK fonts).
CJK_FONT_PATHS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)
#: Families matplotlib may already know (a font installed where its cache found it).
_KNOWN_CJK = ("WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Noto Sans CJK SC", "Noto Sans CJK JP",
              "Source Han Sans SC", "Droid Sans Fallback", "SimHei", "Microsoft YaHei", "PingFang SC")
_BASE = "DejaVu Sans"
_state: dict[str, object] = {}


class CJKFontWarning(UserWarning):
    """No font with Chinese/Japanese/Korean glyphs was found: such text would show as boxes."""


def use_font(path: str | os.PathLike) -> str:
    """Register the font file ``path`` and use its family as the CJK fallback; returns the family."""
    font_manager.fontManager.addfont(str(path))
    family = font_manager.FontProperties(fname=str(path)).get_name()
    _state["family"] = family
    return family


def cjk_family() -> str | None:
    """The CJK fallback family (found and registered once), or None after one CJKFontWarning."""
    if "family" in _state:
        return _state["family"]  # type: ignore[return-value]
    known = {f.name for f in font_manager.fontManager.ttflist}
    family = next((name for name in _KNOWN_CJK if name in known), None)
    if family is None:
        path = next((p for p in CJK_FONT_PATHS if Path(p).is_file()), None)
        if path is not None:
            return use_font(path)
        warnings.warn("no CJK font found: Chinese/Japanese/Korean text in plots will show as boxes; install "
                      "fonts-wqy-microhei or call tingwu_nb.notebook.fonts.use_font(path)", CJKFontWarning,
                      stacklevel=3)
    _state["family"] = family
    return family


def font_family() -> list[str]:
    """``["DejaVu Sans", <CJK family>]`` (just DejaVu when there is no CJK font): set it on Text objects."""
    family = cjk_family()
    return [_BASE, family] if family else [_BASE]


def apply_fonts(ax: Axes) -> Axes:
    """Give every text of ``ax`` (title, labels, ticks, annotations, legend) the CJK-capable family.

    Tick labels are created at draw time, so they get the family through ``tick_params``;
    matplotlib's rcParams are not changed.
    """
    family = font_family()
    ax.tick_params(axis="both", labelfontfamily=family)
    texts = [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label, *ax.texts]
    texts += [t for t in ax.get_xticklabels() + ax.get_yticklabels()]
    legend = ax.get_legend()
    if legend is not None:
        texts += [*legend.get_texts(), legend.get_title()]
    for text in texts:
        text.set_fontfamily(family)
    return ax
