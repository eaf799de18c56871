"""The JSON API of `vidclip serve`: answers checked against the pipeline itself, hostile requests refused."""

import http.client
import io
import json
import os
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="needs the serve extra: pip install 'vidclip[serve]'")
from fastapi.testclient import TestClient  # noqa: E402

from fakes import COLOURS, TinyVideoModel, use_fake_model, write_video  # noqa: E402
from serving import running  # noqa: E402
from vidclip.cli import main  # noqa: E402
from vidclip.pipeline import Pipeline  # noqa: E402
from vidclip.search.index import VideoIndex  # noqa: E402
from vidclip.serve.app import MAX_BODY, MAX_K, MAX_QUERY, create_app  # noqa: E402
from vidclip.serve.collection import Collection  # noqa: E402

OPPOSITE = {"red": "cyan", "green": "magenta", "blue": "yellow"} | {"cyan": "red", "magenta": "green", "yellow": "blue"}


def _pattern(name):
    """4 seconds: the opposite colour for one, then the video's own colour for three."""
    return [OPPOSITE[name], name, name, name]


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("serve_videos")
    return {name: write_video(folder / f"{name}.mp4", _pattern(name)) for name in COLOURS}


@pytest.fixture(scope="module")
def collection(videos):
    pipeline = Pipeline(TinyVideoModel())
    return Collection(VideoIndex.build(pipeline, sorted(videos.values()), progress=False))


@pytest.fixture(scope="module")
def client(collection):
    return TestClient(create_app(collection), raise_server_exceptions=False)


def _id(collection, name):
    return next(i for i in range(len(collection)) if collection.name(i) == f"{name}.mp4")


def _error(response, status):
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and detail and "Traceback" not in detail
    return detail


def test_search_ranks_by_colour_and_points_at_the_best_frame(client):
    found = client.get("/api/search", params={"q": "a blue car", "k": 3}).json()
    results = found["results"]
    assert [r["name"] for r in results][0] == "blue.mp4" and len(results) == 3
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)
    # the index holds 4 frames per video, at 0.5, 1.5, 2.5, 3.5 s: blue shows in seconds 1-4 of blue.mp4
    assert results[0]["at"] in (0.375, 0.625, 0.875)
    red = client.get("/api/search", params={"q": "red", "k": MAX_K}).json()["results"]
    red_in_cyan = next(r for r in red if r["name"] == "cyan.mp4")["at"]
    assert red_in_cyan == 0.125 and found["took_ms"] < 1000


def test_moments_match_the_pipeline_and_are_computed_once(client, collection, videos, monkeypatch):
    green = _id(collection, "green")
    found = client.get("/api/moments", params={"id": green, "q": "green", "top_k": 3}).json()
    expected = collection.pipeline.find_moments(videos["green"], "green", top_k=3)
    assert [(m["start"], m["end"]) for m in found["moments"]] == [(start, end) for start, end, _ in expected]
    assert [m["score"] for m in found["moments"]] == pytest.approx([score for *_, score in expected], abs=1e-4)
    assert (found["moments"][0]["start"], found["moments"][0]["end"]) == (1.0, 4.0)
    assert found["duration"] == 4.0 and len(found["saliency"]) == 2 and found["method"] == "similarity"

    import vidclip.moments.frame_features as frame_features

    def no_recompute(*args, **kwargs):
        raise AssertionError("frame features computed twice")

    monkeypatch.setattr(frame_features, "compute_frame_features", no_recompute)
    again = client.get("/api/moments", params={"id": green, "q": "magenta", "top_k": 3}).json()
    assert (again["moments"][0]["start"], again["moments"][0]["end"]) == (0.0, 1.0)
    assert client.get(f"/api/videos/{green}/progress").json() == {"id": green, "computing": False, "fraction": 0.0}


def test_progress_is_reported_while_features_are_computed(collection, videos):
    seen = []
    cyan = _id(collection, "cyan")
    original = collection.pipeline.feature_cache
    collection.pipeline.feature_cache = type(original)()  # empty: force a computation
    try:
        import vidclip.moments.frame_features as frame_features

        real = frame_features.compute_frame_features

        def watched(*args, progress, **kwargs):
            return real(*args, progress=lambda f: (seen.append(collection.progress(cyan)), progress(f)), **kwargs)

        frame_features.compute_frame_features, saved = watched, real
        try:
            collection.frame_features(cyan)
        finally:
            frame_features.compute_frame_features = saved
    finally:
        collection.pipeline.feature_cache = original
    assert seen and seen[0]["computing"] and seen[0]["fraction"] == 0.0
    assert not collection.progress(cyan)["computing"]


def test_classify_matches_decoding_the_video(client, collection, videos):
    labels = ["red", "green", "blue", "magenta"]
    magenta = _id(collection, "magenta")
    found = client.post("/api/classify", json={"id": magenta, "labels": labels}).json()["labels"]
    expected = collection.pipeline.classify(videos["magenta"], labels)
    assert [item["label"] for item in found] == [label for label, _ in expected]
    assert [item["probability"] for item in found] == pytest.approx([p for _, p in expected], abs=1e-3)


def test_video_bytes_and_range_requests(client, collection, videos):
    red = _id(collection, "red")
    data = Path(videos["red"]).read_bytes()
    whole = client.get(f"/api/videos/{red}")
    assert whole.status_code == 200 and whole.content == data and whole.headers["accept-ranges"] == "bytes"
    part = client.get(f"/api/videos/{red}", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == data[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"
    tail = client.get(f"/api/videos/{red}", headers={"Range": "bytes=-50"})
    assert tail.status_code == 206 and tail.content == data[-50:]
    assert client.get(f"/api/videos/{red}", headers={"Range": f"bytes={len(data) + 10}-"}).status_code == 416
    for bad in ("bytes=abc", "items=0-10", "bytes=" + ",".join(["0-1"] * 11), "bytes=--5"):
        assert "Range" in _error(client.get(f"/api/videos/{red}", headers={"Range": bad}), 400)


def test_thumbnail_shows_the_frame_at_the_asked_place(client, collection):
    from PIL import Image

    yellow = _id(collection, "yellow")
    response = client.get(f"/api/videos/{yellow}/thumbnail", params={"at": 0.5})
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    pixel = Image.open(io.BytesIO(response.content)).convert("RGB").getpixel((8, 8))
    assert pixel[0] > 200 and pixel[1] > 200 and pixel[2] < 60  # yellow, from seconds 1-4
    first = Image.open(io.BytesIO(client.get(f"/api/videos/{yellow}/thumbnail", params={"at": 0.1}).content))
    assert first.convert("RGB").getpixel((8, 8))[2] > 200  # blue, the first second


@pytest.mark.parametrize("path", [
    "/api/videos/6", "/api/videos/-1", "/api/videos/99999999999999999999", "/api/videos/1e3",
    "/api/videos/..%2f..%2f..%2fetc%2fpasswd", "/api/videos/%2e%2e/%2e%2e/etc/passwd",
    "/api/videos/0%2f..%2f..%2fetc%2fpasswd", "/static/..%2f..%2fcli%2fserve.py", "/static/%2e%2e/app.py",
    "/api/videos/7/thumbnail", "/api/moments?id=6&q=red", "/api/videos/6/progress", "/etc/passwd",
])
def test_unknown_ids_and_traversal_attempts_get_a_json_4xx(client, path):
    response = client.get(path)
    assert 400 <= response.status_code < 500 and response.headers["content-type"] == "application/json"
    assert "root:" not in response.text and "import" not in response.text


def test_raw_dot_segments_never_reach_a_file(collection):
    """A client that does not normalise `..` (httpx does), against the real server."""
    with running(create_app(collection)) as url:
        host, port = url.removeprefix("http://").split(":")
        for path in ["/static/../../../../etc/passwd", "/static/../cli/serve.py", "/api/videos/../../etc/passwd",
                     "/static//etc/passwd", "/static/%2F..%2F..%2Fetc%2Fpasswd"]:
            connection = http.client.HTTPConnection(host, int(port), timeout=10)
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read()
            assert 400 <= response.status < 500, (path, response.status)
            assert b"root:" not in body and b"import" not in body
            connection.close()


@pytest.mark.parametrize("params, where", [
    ({"q": ""}, "q"), ({"q": "   "}, "q"), ({"q": "x" * (MAX_QUERY + 1)}, "q"), ({}, "q"),
    ({"q": "red", "k": 0}, "k"), ({"q": "red", "k": MAX_K + 1}, "k"), ({"q": "red", "k": "many"}, "k"),
])
def test_bad_search_parameters(client, params, where):
    assert where in _error(client.get("/api/search", params=params), 422)


def test_malformed_and_oversized_bodies(client):
    assert "JSON" in _error(client.post("/api/classify", content=b"{not json", headers={"content-type": "application/json"}), 422)
    assert "labels" in _error(client.post("/api/classify", json={"id": 0, "labels": []}), 422)
    assert "labels" in _error(client.post("/api/classify", json={"id": 0, "labels": "red"}), 422)
    assert "label" in _error(client.post("/api/classify", json={"id": 0, "labels": ["red", " "]}), 422)
    assert "labels" in _error(client.post("/api/classify", json={"id": 0, "labels": ["x"] * 101}), 422)
    assert "no video 6" in _error(client.post("/api/classify", json={"id": 6, "labels": ["red"]}), 404)
    big = json.dumps({"id": 0, "labels": ["x" * 50] * 400}).encode()
    assert len(big) > MAX_BODY
    assert "body" in _error(client.post("/api/classify", content=big, headers={"content-type": "application/json"}), 413)
    chunked = client.post("/api/classify", content=iter([big[:9000], big[9000:]]), headers={"content-type": "application/json"})
    assert "body" in _error(chunked, 413)
    assert _error(client.put("/api/search"), 405)


def test_a_bug_is_a_json_500_without_traceback(client, collection, monkeypatch):
    monkeypatch.setattr(collection, "search", lambda *a: 1 / 0)
    assert "ZeroDivisionError" in _error(client.get("/api/search", params={"q": "red"}), 500)


def test_a_video_deleted_after_indexing(tmp_path, collection, videos):
    copies = [write_video(tmp_path / f"{name}.mp4", _pattern(name)) for name in ("red", "blue")]
    gone = Collection(VideoIndex.build(collection.pipeline, copies, progress=False))
    client = TestClient(create_app(gone))
    os.remove(copies[1])
    blue = _id(gone, "blue")
    for response in [client.get(f"/api/videos/{blue}"), client.get(f"/api/videos/{blue}/thumbnail"),
                     client.get("/api/moments", params={"id": blue, "q": "blue"}),
                     client.post("/api/classify", json={"id": blue, "labels": ["red", "blue"]})]:
        assert "no longer on disk" in _error(response, 404)
    assert client.get("/api/search", params={"q": "blue"}).status_code == 200  # the rest still works
    assert client.get(f"/api/videos/{_id(gone, 'red')}").status_code == 200


def test_a_video_swapped_for_a_link_outside_is_refused(tmp_path, collection):
    copy = write_video(tmp_path / "red.mp4", _pattern("red"))
    swapped = Collection(VideoIndex.build(collection.pipeline, [copy], progress=False))
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("root:secret")
    os.remove(copy)
    os.symlink(secret, copy)
    response = TestClient(create_app(swapped)).get("/api/videos/0")
    assert "no longer on disk" in _error(response, 404) and "root:" not in response.text


def test_openapi_describes_the_api_and_the_page_is_served(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/search", "/api/moments", "/api/classify", "/api/videos/{id}"} <= set(paths)
    page = client.get("/")
    assert page.status_code == 200 and 'id="query"' in page.text
    for asset in ("/static/app.js", "/static/style.css"):
        response = client.get(asset)
        assert response.status_code == 200 and "http" not in response.text.replace("http.", "")  # nothing fetched from elsewhere


def test_cli_serves_on_localhost_by_default(tmp_path, videos, monkeypatch, capsys):
    import socket

    import uvicorn

    use_fake_model(monkeypatch)
    out = tmp_path / "my.index"
    assert main(["index", "build", *sorted(videos.values()), "--out", str(out), "--model", "tiny"]) == 0
    served = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: served.update(app=app, **options))
    assert main(["serve", str(out), "--model", "tiny", "--host", "0.0.0.0"]) == 0
    assert served["host"] == "0.0.0.0" and "warning: listening on 0.0.0.0" in capsys.readouterr().out
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    assert main(["serve", str(out), "--model", "tiny", "--port", str(port)]) == 0
    assert served["host"] == "127.0.0.1" and served["port"] == port
    assert f"http://127.0.0.1:{port}/" in capsys.readouterr().out
    found = TestClient(served["app"]).get("/api/search", params={"q": "cyan"}).json()
    assert found["results"][0]["name"] == "cyan.mp4"


def test_cli_errors_exit_2(tmp_path, monkeypatch, capsys):
    import socket
    import sys

    use_fake_model(monkeypatch)
    assert main(["serve", str(tmp_path / "none.index"), "--model", "tiny"]) == 2
    assert "no index file" in capsys.readouterr().err
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        assert main(["serve", str(tmp_path / "none.index"), "--model", "tiny", "--port", str(taken.getsockname()[1])]) == 2
        assert "cannot listen on 127.0.0.1" in capsys.readouterr().err
    monkeypatch.delitem(sys.modules, "vidclip.serve.app")
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if the extra were not installed
    assert main(["serve", str(tmp_path / "none.index"), "--model", "tiny"]) == 2
    assert "pip install 'vidclip[serve]'" in capsys.readouterr().err


def test_moments_come_from_the_head_of_a_model_that_has_one(videos):
    import vidclip

    pipeline = vidclip.load("tiny-vit-16", adapter="vdi", num_frames=4)
    served = Collection(VideoIndex.build(pipeline, [videos["red"], videos["blue"]], progress=False))
    found = TestClient(create_app(served)).get("/api/moments", params={"id": 0, "q": "a red square", "top_k": 3}).json()
    assert found["method"] == "moment head"
    expected = pipeline.find_moments(str(served.path(0)), "a red square", top_k=3)
    assert [(m["start"], m["end"]) for m in found["moments"]] == [(start, end) for start, end, _ in expected]
    assert all(0 <= m["start"] < m["end"] <= found["duration"] + 1e-6 for m in found["moments"])


def test_videos_inside_a_tar_search_label_and_thumbnail_but_do_not_play(tmp_path, videos):
    import tarfile

    from PIL import Image

    tar = tmp_path / "00000.tar"
    with tarfile.open(tar, "w") as archive:
        for name in ("yellow", "red"):
            archive.add(videos[name], arcname=f"{name}.mp4")
    collection = Collection(VideoIndex.build(Pipeline(TinyVideoModel()), [tar], progress=False))
    client = TestClient(create_app(collection), raise_server_exceptions=False)
    assert [collection.name(i) for i in range(2)] == ["00000.tar::yellow.mp4", "00000.tar::red.mp4"]
    assert client.get("/api/search", params={"q": "a red car", "k": 1}).json()["results"][0]["name"] == "00000.tar::red.mp4"
    response = client.get("/api/videos/0/thumbnail", params={"at": 0.5})
    assert response.status_code == 200
    pixel = Image.open(io.BytesIO(response.content)).convert("RGB").getpixel((8, 8))
    assert pixel[0] > 200 and pixel[1] > 200 and pixel[2] < 60  # yellow, as from the file
    for path in ("/api/videos/0", "/api/moments?id=0&q=red"):
        assert "is inside a tar archive: playing it and finding moments need a video file" in _error(client.get(path), 422)
    tar.write_bytes(b"")  # gone from the tar: a 404 like a deleted file
    assert "no longer in its tar archive" in _error(client.get("/api/videos/1/thumbnail", params={"at": 0.3}), 404)
