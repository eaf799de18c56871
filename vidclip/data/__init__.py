"""Video-text data: readers for the public datasets' annotation formats (`vidclip.data.formats`; start with
`load_annotations`), a recipe's data sets and their checks (`recipe`, `check`: `vidclip data check`) and a
synthetic generator of captioned shape videos (`vidclip.data.synthetic`) for demos and tests."""

from vidclip.data.formats import load_annotations

__all__ = ["load_annotations"]
