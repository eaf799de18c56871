"""The web application behind `vidclip serve`: one static page and a JSON API over a `Collection`.

Every input is bounded (query length, k, labels, request body), every error is JSON
{"detail": message} with a 4xx status (a bug: 500 with a message, its traceback only in the log),
and videos are addressed by id only (`Collection.path`).
"""

import re
import time
from importlib.resources import files

try:
    import uvicorn
    from fastapi import FastAPI, Header, HTTPException, Query, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import FileResponse, JSONResponse, Response
    from fastapi.staticfiles import StaticFiles
    from pydantic import BaseModel, Field
except ImportError as error:
    raise ImportError(f"`vidclip serve` needs the serve extra ({error.name} is missing): pip install 'vidclip[serve]'",
                      name=error.name) from None

from vidclip.errors import UnknownVideoError, VidclipError
from vidclip.serve.limits import BodyLimit

MAX_QUERY = 500  # characters; CLIP reads 77 tokens anyway
MAX_K = 50
MAX_MOMENTS = 20
MAX_LABELS = 100
MAX_LABEL = 100
MAX_BODY = 16 * 1024  # bytes
RANGES = re.compile(r"bytes=\s*(\d+-\d*|-\d+)(\s*,\s*(\d+-\d*|-\d+)){0,9}")  # at most 10 byte ranges

STATIC = files("vidclip.serve") / "static"

Text = Query(min_length=1, max_length=MAX_QUERY, pattern=r"\S", description="a sentence describing what to find")


class ClassifyRequest(BaseModel):
    id: int = Field(ge=0, description="video id, from /api/search")
    labels: list[str] = Field(min_length=1, max_length=MAX_LABELS, description="class names, e.g. [\"jumping\", \"running\"]")


def create_app(collection) -> FastAPI:
    """The FastAPI app serving `collection` (vidclip.serve.collection.Collection)."""
    app = FastAPI(title="vidclip", summary="Search a video collection by text, find moments, label clips zero-shot.",
                  version="1")
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY)
    _add_error_handlers(app)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    @app.get("/", include_in_schema=False)
    def page():
        return FileResponse(str(STATIC / "index.html"))

    @app.get("/api/info")
    def info():
        """The index's size and model, and where moments come from."""
        pipeline = collection.pipeline
        return {"count": len(collection), "model": pipeline.identity["name"],
                "moments": "moment head" if pipeline.has_moment_head else "similarity"}

    @app.get("/api/search")
    def search(q: str = Text, k: int = Query(10, ge=1, le=MAX_K)):
        """The k videos that best match q, best first; `at` (0-1) is where in each video it matches best."""
        began = time.perf_counter()
        results = collection.search(q.strip(), k)
        return {"query": q, "results": results, "took_ms": round(1000 * (time.perf_counter() - began), 1)}

    @app.get("/api/moments")
    def moments(id: int = Query(ge=0), q: str = Text, top_k: int = Query(5, ge=1, le=MAX_MOMENTS)):
        """Moments of q in video `id` (seconds, best first) and its saliency per 2-second clip."""
        return collection.moments(id, q.strip(), top_k)

    @app.post("/api/classify")
    def classify(request: ClassifyRequest):
        """Zero-shot labels for video `id`, most likely first (probabilities sum to 1 over the labels)."""
        labels = [label.strip() for label in request.labels]
        if any(not label or len(label) > MAX_LABEL for label in labels):
            raise HTTPException(422, f"each label must be 1 to {MAX_LABEL} characters")
        return {"id": request.id, "labels": collection.classify(request.id, labels)}

    @app.get("/api/videos/{id}")
    def video(id: int, range: str | None = Header(None, include_in_schema=False)):
        """The video file (HTTP range requests supported, so players can seek)."""
        if range is not None and not RANGES.fullmatch(range.strip()):
            raise HTTPException(400, f"malformed Range header {range[:40]!r}: expected bytes=START-END")
        return FileResponse(collection.path(id), filename=collection.name(id), content_disposition_type="inline")

    @app.get("/api/videos/{id}/thumbnail", response_class=Response)
    def thumbnail(id: int, at: float = Query(0.5, ge=0, le=1)):
        """A JPEG of the frame at `at` (0-1 of the video)."""
        return Response(collection.thumbnail(id, at), media_type="image/jpeg",
                        headers={"Cache-Control": "max-age=3600"})

    @app.get("/api/videos/{id}/progress")
    def progress(id: int):
        """Whether the video's frame features (for moments) are being computed, and how far."""
        return collection.progress(id)

    return app


def _add_error_handlers(app) -> None:
    def message(status: int, text: str) -> JSONResponse:
        return JSONResponse({"detail": text}, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError):
        first = error.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ())) or "request"
        return message(422, f"{where}: {first.get('msg', 'invalid')}")

    @app.exception_handler(UnknownVideoError)
    async def unknown(request: Request, error: UnknownVideoError):
        return message(404, str(error))

    @app.exception_handler(VidclipError)
    async def bad_input(request: Request, error: VidclipError):
        return message(422, str(error))

    @app.exception_handler(Exception)
    async def bug(request: Request, error: Exception):
        return message(500, f"internal error ({type(error).__name__}): see the server log")


def serve(app, *, host: str, port: int) -> None:
    """Run `app` on uvicorn until interrupted."""
    uvicorn.run(app, host=host, port=port, log_level="warning")
