"""Run a `vidclip serve` app on a real uvicorn server, on a free localhost port, in a thread."""

import socket
import threading
import time
from contextlib import contextmanager


@contextmanager
def running(app):
    """Yield the base URL ("http://127.0.0.1:PORT") while `app` is served; stop it afterwards."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))  # port 0: the system picks a free one
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        listener.close()
