"""`vidclip serve`: a web page and JSON API over an index (search, moments, zero-shot labels)."""

from vidclip.cli.common import INPUT_ERRORS, add_model_arguments, fail, load_model

HELP = "serve a web page to search an index, watch moments and label clips"
DESCRIPTION = """\
Starts a local web server (FastAPI + uvicorn, from the `serve` extra) for one index: a search box
whose results are thumbnails at the best-matching moment; clicking one plays it, with the query's
moments on a timeline under the player (click one to seek) and its saliency curve; zero-shot labels
from a list you type. The same as JSON: /api/search, /api/moments, /api/classify, /api/videos/{id}
(described by /openapi.json, browsable at /docs). Only the videos listed in the index are served, by id.

examples:
  vidclip serve my.index --model ViT-B-32 --pretrained openai
  vidclip serve demo_out/moments.index --model demo_out/runs/vdi/last --port 8080
  vidclip serve my.index --model runs/msrvtt_glscl/last --host 0.0.0.0   (reachable from other machines)

exit codes: 0 stopped, 2 bad input (missing or corrupted index, another model's index, missing
`serve` extra).
"""


def add_arguments(parser):
    parser.add_argument("index", help="index file (from `vidclip index build`)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: %(default)s, this machine only)")
    parser.add_argument("--port", type=int, default=8000, help="port (default: %(default)s)")
    parser.add_argument("--fps", type=float, default=1.0, help="frames per second sampled for moments (default: 1)")
    add_model_arguments(parser)


def run(args) -> int:
    try:
        from vidclip.serve.app import create_app, serve
    except ImportError as error:  # names the extra to install
        return fail(error)
    from vidclip.search.index import VideoIndex
    from vidclip.serve.collection import Collection

    busy = _cannot_listen(args.host, args.port)
    if busy:
        return fail(f"cannot listen on {args.host}:{args.port} ({busy}): choose another --port or --host")
    try:
        model = load_model(args)
        index = VideoIndex.load(args.index, model)
    except INPUT_ERRORS as error:
        return fail(error)
    stale = index.stale()
    if stale:
        print(f"warning: {len(stale)} indexed videos changed or vanished since indexing: "
              "rebuild the index to search them as they are now")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: listening on {args.host}: anyone who can reach this machine can search and watch these videos")
    print(f"serving {len(index)} videos from {args.index} at http://{_url_host(args.host)}:{args.port}/ (Ctrl-C stops)",
          flush=True)
    serve(create_app(Collection(index, fps=args.fps)), host=args.host, port=args.port)
    return 0


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _cannot_listen(host: str, port: int) -> str | None:
    """Why uvicorn could not bind host:port (in use, no such address), checked before the model loads."""
    import socket

    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            probe.bind((host, port))
    except OSError as error:
        return error.strerror or str(error)
    return None
