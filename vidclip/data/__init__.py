"""Video-text data: readers for the public datasets' annotation formats (`vidclip.data.formats`)
and a synthetic generator of captioned shape videos (`vidclip.data.synthetic`) for demos and tests."""
