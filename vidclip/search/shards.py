"""A sharded `vidclip embed` output: a folder that a crashed or killed run resumes where it stopped.

The input list is cut, in order, into shards of `shard_size` videos; shard i belongs to rank
i % world_size, so ranks write without any collective, and a rerun (with any number of ranks)
redoes only the shards that are not finished. A shard is two files, each written atomically:
`shard-00012.safetensors` (the format of a single `vidclip embed` file, readable on its own), then
`shard-00012.jsonl` (one line per input: its path and row, or why it was skipped). The jsonl comes
last, so it marks the shard as done. `manifest.json` names the model, the shard size and a checksum
of the input list: a rerun with other inputs or another model is refused rather than mixing shards.
Inputs from WebDataset tars (`tar::member`) are listed member by member, and the manifest keeps each
tar's size and mtime, so a tar rewritten between runs is refused too (its members may have changed).
"""

import hashlib
import json
from pathlib import Path

from vidclip.atomic import write_text_atomic
from vidclip.errors import InputError
from vidclip.search.embeddings_file import load_embeddings, save_embeddings
from vidclip.video.tar_members import is_tar, sidecars, split_member, tar_signature

FORMAT = "vidclip.embedding-shards/1"
MANIFEST = "manifest.json"
_RERUN = "rerun the same `vidclip embed` command to finish it"


def is_shard_folder(path) -> bool:
    """A folder with our manifest (a folder of videos may hold a manifest.json of its own)."""
    try:
        return read_manifest(path) is not None
    except (InputError, NotADirectoryError):
        return False


def shard_name(number: int) -> str:
    return f"shard-{number:05d}"


def shard_count(num_inputs: int, shard_size: int) -> int:
    return -(-num_inputs // shard_size)


def shards_of_rank(num_inputs: int, shard_size: int, rank: int, world_size: int) -> range:
    """The shard numbers rank `rank` of `world_size` writes: every world_size-th from its rank."""
    return range(rank, shard_count(num_inputs, shard_size), world_size)


def manifest_for(inputs: list, shard_size: int, identity: dict) -> dict:
    """What a rerun must match to reuse the folder's shards; `inputs` are absolute paths."""
    digest = hashlib.sha256("\n".join(inputs).encode()).hexdigest()
    manifest = {"format": FORMAT, "model": identity, "shard_size": shard_size, "num_inputs": len(inputs),
                "num_shards": shard_count(len(inputs), shard_size), "inputs_sha256": digest}
    tars = _tar_versions(inputs)
    return dict(manifest, tars=tars) if tars else manifest  # no key without tars: manifests as before


def _tar_versions(inputs: list) -> dict:
    """{tar path: {"size", "mtime_ns"}} of the tars that inputs come from (members, or a damaged tar itself)."""
    tars = {}  # tar path -> None, in input order
    for source in inputs:
        parts = split_member(source)
        if parts is not None or is_tar(source):
            tars[parts[0] if parts else source] = None
    out = {}
    for tar in tars:
        try:
            signature = tar_signature(tar)
        except OSError:
            continue  # gone: its members are skipped as missing
        out[tar] = {"size": signature["size"], "mtime_ns": signature["mtime_ns"]}
    return out


def open_folder(folder, manifest: dict) -> None:
    """Start a shard folder, or check that the one there was started by the same command.

    Every rank writes the same manifest (atomically), so none waits for another.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"--out {folder} is a file: give a folder for shards (or an --out ending in .safetensors)")
    if (folder / MANIFEST).is_file():
        before = read_manifest(folder)
        tars_then, tars_now = before.get("tars", {}), manifest.get("tars", {})
        rewritten = sorted(tar for tar in set(tars_then) & set(tars_now) if tars_then[tar] != tars_now[tar])
        if rewritten:
            raise InputError(f"{folder} holds shards of {rewritten[0]} as it was before it changed (size or mtime"
                             f"{f', and {len(rewritten) - 1} more tars' if len(rewritten) > 1 else ''}): "
                             "embed it into a new --out folder (or restore the tar)")
        changed = [key for key in ("model", "shard_size", "inputs_sha256") if before.get(key) != manifest[key]]
        if changed:
            what = {"model": "another model", "shard_size": f"--shard-size {before.get('shard_size')}",
                    "inputs_sha256": f"another list of inputs ({before.get('num_inputs')} videos, now {manifest['num_inputs']})"}
            raise InputError(f"{folder} holds shards written with {', '.join(what[key] for key in changed)}: "
                             "rerun with the same inputs and options to resume, or use a new --out folder")
        return
    if folder.is_dir() and any(not _ours(entry.name) for entry in folder.iterdir()):
        raise InputError(f"--out {folder} is a folder that is not empty and holds no {MANIFEST}: use a new folder")
    write_text_atomic(folder / MANIFEST, json.dumps(manifest, indent=1) + "\n")


def _ours(name: str) -> bool:
    """A file another rank of the same run may have written already (or its temp file)."""
    return name == MANIFEST or name.startswith(("shard-", f".{MANIFEST}.", ".shard-"))


def read_manifest(folder) -> dict:
    path = Path(folder) / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except (IsADirectoryError, NotADirectoryError, FileNotFoundError):
        raise InputError(f"{folder}: not a folder of `vidclip embed` shards (no {MANIFEST})") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"{path}: unreadable shard manifest ({error})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InputError(f"{path}: not a `vidclip embed` shard manifest (format {FORMAT} expected)")
    return manifest


def is_done(folder, number: int) -> bool:
    return (Path(folder) / f"{shard_name(number)}.jsonl").is_file()


def write_shard(folder, number: int, inputs: list, found, identity: dict) -> None:
    """Write shard `number` of `inputs`: embeddings first, then the jsonl that marks it done."""
    folder = Path(folder)
    save_embeddings(folder / f"{shard_name(number)}.safetensors", found, identity)
    row = {source: i for i, source in enumerate(found.sources)}
    reason = dict(found.skipped)
    lines = [dict({"path": path, "row": row[path]} if path in row else {"path": path, "skipped": reason.get(path, "not embedded")},
                  **sidecars(path)) for path in inputs]
    write_text_atomic(folder / f"{shard_name(number)}.jsonl", "".join(json.dumps(line) + "\n" for line in lines))


def read_listing(folder, number: int) -> list:
    """The jsonl of a finished shard: [{"path", "row"} or {"path", "skipped"}, with "caption" and "meta"
    for tar members that have them] in input order."""
    path = Path(folder) / f"{shard_name(number)}.jsonl"
    try:
        return [json.loads(line) for line in path.read_text().splitlines()]
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"{path}: damaged shard listing ({error}): delete it and {_RERUN}") from None


def missing_shards(folder) -> list:
    manifest = read_manifest(folder)
    return [number for number in range(manifest["num_shards"]) if not is_done(folder, number)]


def read_shards(folder):
    """(manifest, count, parts): count = videos embedded in all shards; parts() iterates the shards'
    VideoEmbeddings in input order, one in memory at a time. Refuses an unfinished folder."""
    manifest = read_manifest(folder)
    missing = missing_shards(folder)
    if missing:
        raise InputError(f"{folder}: {len(missing)} of {manifest['num_shards']} shards are not finished "
                         f"(first: {shard_name(missing[0])}): {_RERUN}")
    count = sum("row" in line for number in range(manifest["num_shards"]) for line in read_listing(folder, number))

    def parts():
        for number in range(manifest["num_shards"]):
            found, identity = load_embeddings(Path(folder) / f"{shard_name(number)}.safetensors")
            if identity != manifest["model"]:
                raise InputError(f"{folder}: {shard_name(number)} was written by another model than the manifest's: {_RERUN} in a new folder")
            yield found

    return manifest, count, parts
