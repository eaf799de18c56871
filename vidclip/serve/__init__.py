"""`vidclip serve`: a web page (and JSON API) to search an index, watch moments and label clips.

Needs the `serve` extra (FastAPI + uvicorn + Pillow); nothing here is imported until the command runs.
"""
