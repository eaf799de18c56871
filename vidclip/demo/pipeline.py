"""The demo from end to end: synthesize -> stage 1 (image-text pre-training) -> stage 2 (one video
adaptation per method) -> evaluation -> results.json, report.md, plots.

Every stage's hyper-parameters come from `configs/synthetic_<stage>.yaml` (the same recipes
`vidclip train` runs), with the output paths pointed into `out` and any `--set` overrides on top.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path



def demo_methods(configs=None) -> tuple[str, ...]:
    """Every registered adapter with a demo recipe (configs/synthetic_<adapter>.yaml), in registry order,
    each followed by its ablations (configs/synthetic_<adapter>-<what>.yaml: the recipe with one
    mechanism removed)."""
    from vidclip.registry import ADAPTERS

    folder = Path(configs or default_configs_dir())
    methods = []
    for name in ADAPTERS.names():
        if (folder / f"synthetic_{name}.yaml").is_file():
            methods += [name, *(path.stem[len("synthetic_"):] for path in sorted(folder.glob(f"synthetic_{name}-*.yaml")))]
    return tuple(methods)


# Full run: the synthetic generator's defaults. Quick: a smoke test (seconds, numbers meaningless).
FULL_DATA = dict(num_train=2000, num_test=500, num_novel=300, num_moment_train=200, num_moment_test=100,
                 num_moment_novel=100, num_images=10000)
QUICK_DATA = dict(num_train=48, num_test=24, num_novel=16, num_moment_train=6, num_moment_test=4,
                  num_moment_novel=4, num_images=128)
QUICK_OVERRIDES = ["train.max_steps=2", "train.batch_size=8", "train.log_every=1", "train.tensorboard=false"]


@dataclass
class DemoOptions:
    out: Path = Path("demo_out")
    quick: bool = False
    device: str | None = None
    methods: tuple[str, ...] | None = None  # None: every adapter with a demo recipe
    seed: int = 0  # the synthetic data's seed (training seeds are in the configs)
    threads: int | None = 2  # CPU float sums depend on the thread count: fixed, so a rerun repeats the table
    configs: Path | None = None
    overrides: list[str] = field(default_factory=list)  # "[stage:]key=value"
    progress: bool = True
    data: Path | None = None  # where the synthetic data lives (default: out/data)
    pretrained: Path | None = None  # a stage-1 checkpoint to reuse (skips stage 1)
    twin_batches: bool = True  # put each training clip's temporal twin in its batch (hard negatives)
    frame_cache: bool = True  # frozen vision tower, no block hooks: embed each training frame once


class _Log:
    def __init__(self):
        self.began = time.perf_counter()

    def __call__(self, message):
        print(f"[demo {time.perf_counter() - self.began:6.0f}s] {message}", flush=True)


def _cpu_name() -> str:
    """The CPU model: with the thread count and torch version, what a bit-exact rerun needs to match."""
    import platform

    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def default_configs_dir() -> Path:
    """The recipes shipped with vidclip (the repository's configs/, installed as `vidclip.configs`)."""
    from vidclip import configs

    return configs.ROOT


def stage_overrides(overrides, stage, methods=None) -> list[str]:
    """`key=value` applies to every stage; `stage:key=value` to one (`adapt:` = every stage-2 method)."""
    stages = ("pretrain", *(methods or demo_methods()))
    out = []
    for item in overrides:
        prefix, sep, rest = item.partition(":")
        if sep and "=" not in prefix:
            if prefix not in (*stages, "adapt"):
                from vidclip.errors import ConfigError

                raise ConfigError(f"--set {item!r}: unknown stage {prefix!r}; stages: {', '.join(stages)}, adapt")
            if prefix == stage or (prefix == "adapt" and stage != "pretrain"):
                out.append(rest)
        else:
            out.append(item)
    return out


def load_stage_config(options: DemoOptions, stage: str, extra=()):
    from vidclip.train.config import load_config

    configs = Path(options.configs or default_configs_dir())
    path = configs / f"synthetic_{stage}.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"demo recipe {path} not found; pass --configs DIR (the repository's configs/)")
    overrides = [f"train.out_dir={options.out / 'runs' / stage}", *extra]
    if options.quick:
        overrides += QUICK_OVERRIDES
    overrides += stage_overrides(options.overrides, stage, options.methods)
    if not options.progress:
        overrides.append("train.progress=false")
    return load_config(path, overrides)


def _run_record(config, summary) -> dict:
    return {"steps": summary["steps"], "batch_size": config.train.batch_size, "lr": config.optim.lr,
            "tower_lr": config.optim.tower_lr, "trainable_parameters": summary["trainable_parameters"],
            "parameters": summary["parameters"], "seconds": summary["seconds"],
            "skipped_steps": summary["skipped_steps"],
            "final_train": {k: v for k, v in summary["train"].items() if not k.startswith("lr/")}}


class FrozenFrameCache:
    """Per-frame outputs of the frozen stage-1 vision tower, computed once and shared by the methods.

    Every stage-2 model loads the same stage-1 tower and keeps it frozen, so its outputs are the same
    for all of them; the cache still checks the weights before reusing anything.
    """

    def __init__(self):
        self.weights, self.store = None, {}

    @staticmethod
    def usable(model) -> bool:
        frozen = not any(p.requires_grad for p in model.clip.visual.parameters())
        return frozen and not model.adapter.hooks_vision_blocks

    def _check(self, model):
        import torch

        state = {k: v.detach().cpu().clone() for k, v in model.clip.visual.state_dict().items()}
        if self.weights is None or state.keys() != self.weights.keys() or \
                not all(torch.equal(v, self.weights[k]) for k, v in state.items()):
            self.weights, self.store = state, {}

    def _features(self, model, name, frames, patches):
        from vidclip.demo.data import embed_frames

        self._check(model)
        key = (name, patches)
        if key not in self.store and (name, True) in self.store:
            key = (name, True)  # the patches come along for free
        if key not in self.store:
            self.store[key] = embed_frames(model, frames, patches=patches)
        return {k: v for k, v in self.store[key].items() if patches or k != "patches"}

    def clips(self, model, frames):
        """frames (N, T, 3, H, W) -> {"frame_features": (N, T, D)[, "patches": (N, T, P, D)]}."""
        n, t = frames.shape[:2]
        flat = self._features(model, "clips", frames.flatten(0, 1), model.adapter.needs_patches)
        return {k: v.unflatten(0, (n, t)) for k, v in flat.items()}

    def moments(self, model, videos):
        """[(F_i, 3, H, W)] -> {"frame_features": [(F_i, D)][, "patches": [(F_i, P, D)]]}."""
        import torch

        flat = self._features(model, "moments", torch.cat(list(videos)), model.adapter.needs_patches)
        sizes = [len(v) for v in videos]
        return {k: list(v.split(sizes)) for k, v in flat.items()}


def run_demo(options: DemoOptions) -> dict:
    import torch

    from vidclip.data.synthetic import load_clip_tensor_cache, load_image_pairs, load_moment_tensor_cache
    from vidclip.demo import data as demo_data
    from vidclip.demo import evaluation, report
    from vidclip.demo.serve_index import build_serve_index
    from vidclip.demo.stages import train_stage
    from vidclip.demo.tasks import ClipsAndMomentsTask
    from vidclip.train.runner import create_video_model
    from vidclip.train.tasks import ImageTextTask, RetrievalTask

    log = _Log()
    available = demo_methods(options.configs)
    options.methods = tuple(options.methods or available)
    unknown = set(options.methods) - set(available)
    if unknown:
        from vidclip.errors import ConfigError

        raise ConfigError(f"unknown method(s) {sorted(unknown)}; choose from {', '.join(available)}")
    if options.threads:
        torch.set_num_threads(options.threads)
    device = options.device or ("cuda" if torch.cuda.is_available() else "cpu")
    out = Path(options.out)
    out.mkdir(parents=True, exist_ok=True)
    timings = {}

    # ---- 0. data: generated once, decoded once (the .npy frame caches) -------------------------
    began = time.perf_counter()
    root = Path(options.data or out / "data")
    log(f"synthetic data -> {root}")
    manifest = demo_data.synthesize(root, seed=options.seed, log=log, **(QUICK_DATA if options.quick else FULL_DATA))
    images, still_captions = load_image_pairs(root)
    clips = {split: load_clip_tensor_cache(root, split) for split in ("train", "test", "novel")}
    twins_by_id = json.loads((root / manifest["files"]["retrieval"]["twins"]).read_text())
    twin_pairs = {}
    for split, (_, metadata) in clips.items():
        row = {clip["video_id"]: i for i, clip in enumerate(metadata)}
        twin_pairs[split] = [(row[a], row[b]) for a, b in twins_by_id.get(split, [])]
    class_names = list(manifest["vocabulary"]["classes"])
    timings["data"] = time.perf_counter() - began
    log(f"data ready in {timings['data']:.0f}s: clips " +
        ", ".join(f"{s} {len(m)}" for s, (_, m) in clips.items()) + f"; {len(images)} stills")

    # test and novel compare on equal galleries of clips with distinct meanings (see distinct_gallery_recall)
    distinct_gallery = min(evaluation.distinct_meanings(clips[split][1]) for split in ("test", "novel"))

    def evaluate_clips(model):
        test_frames, test_meta = clips["test"]
        result = evaluation.clip_split_metrics(model, test_frames, test_meta, twin_pairs=twin_pairs["test"],
                                               class_names=class_names, distinct_gallery=distinct_gallery)
        novel_frames, novel_meta = clips["novel"]
        novel = evaluation.clip_split_metrics(model, novel_frames, novel_meta, twin_pairs=twin_pairs["novel"],
                                              distinct_gallery=distinct_gallery)
        summary = {"twin_acc": result["twin_acc"], "t2v_R1": result["t2v_R1"], "t2v_R1_dsl": result["t2v_R1_dsl"], "novel_t2v_R1": novel["t2v_R1"],
                   "zeroshot_top1": result["zeroshot_top1"], "novel_twin_acc": novel["twin_acc"],
                   "t2v_R1_distinct": result.get("t2v_R1_distinct"), "novel_t2v_R1_distinct": novel.get("t2v_R1_distinct"),
                   "t2v_R1_semantic": result["t2v_R1_semantic"], "novel_t2v_R1_semantic": novel["t2v_R1_semantic"]}
        return {**summary, "test": result, "novel": novel}

    # ---- 1. image-text pre-training of a tiny CLIP on stills -----------------------------------
    runs, run_dirs = {}, {}
    config = load_stage_config(options, "pretrain")
    if options.pretrained is not None:
        checkpoint = Path(options.pretrained)
        if not (checkpoint / "model.safetensors").is_file():
            raise FileNotFoundError(f"--pretrained {checkpoint}: not a checkpoint folder (no model.safetensors)")
        log(f"stage 1: reusing {checkpoint}")
        pretrain = {"model": config.model.name, "steps": None, "batch_size": None, "checkpoint": str(checkpoint)}
        timings["pretrain"] = 0.0
    else:
        log(f"stage 1: image-text pre-training of {config.model.name} ({config.train.max_steps} steps, "
            f"batch {config.train.batch_size})")
        model, summary = train_stage(config, dataset=demo_data.StillPairs(images, still_captions),
                                     task=ImageTextTask(), collate_fn=demo_data.collate_stills, device=device,
                                     run_dir=config.train.out_dir, progress=options.progress)
        del model
        timings["pretrain"] = summary["seconds"]
        runs["pretrain"], run_dirs["pretrain"] = _run_record(config, summary), Path(config.train.out_dir)
        checkpoint = Path(summary["checkpoint"])
        pretrain = {"model": config.model.name, "steps": summary["steps"], "batch_size": config.train.batch_size,
                    "checkpoint": str(checkpoint), "seconds": summary["seconds"],
                    "final_loss": summary["train"].get("loss")}
        log(f"stage 1 done in {timings['pretrain']:.0f}s (final loss {summary['train'].get('loss', float('nan')):.3f})")

    # the stage-1 CLIP as is (meanP over 8 frames, nothing trained on video): the reference row
    began = time.perf_counter()
    stage1_config = load_stage_config(options, "meanp", [f"model.pretrained={checkpoint}"])
    baseline = evaluate_clips(create_video_model(stage1_config, torch.device(device)).eval())
    timings["eval"] = time.perf_counter() - began

    # ---- 2. video adaptation, one run per method -----------------------------------------------
    methods = {}
    train_frames, train_meta = clips["train"]
    moment_videos = None
    frozen = FrozenFrameCache()
    for method in options.methods:
        config = load_stage_config(options, method, [f"model.pretrained={checkpoint}"])
        began = time.perf_counter()
        model = create_video_model(config, torch.device(device))
        moments_too = config.train.task == "moments"
        if moments_too and moment_videos is None:
            moment_videos = load_moment_tensor_cache(root, "train")
        cached = options.frame_cache and frozen.usable(model)
        if cached:
            clip_tracks = frozen.clips(model, train_frames)
            moment_tracks = frozen.moments(model, moment_videos[0]) if moments_too else None
        else:
            clip_tracks = {"frames": train_frames}
            moment_tracks = {"frames": moment_videos[0]} if moments_too else None
        clip_data = demo_data.ClipCaptions(clip_tracks, train_meta, with_twins=options.twin_batches,
                                           seed=config.train.seed)
        if moments_too:
            moments = demo_data.MomentQueries(moment_tracks, moment_videos[1], num_frames=config.model.num_frames,
                                              jitter=True, seed=config.train.seed)
            dataset = demo_data.ClipsAndMoments(clip_data, moments, seed=config.train.seed)
            task, collate = ClipsAndMomentsTask(), demo_data.collate_clips_and_moments
        else:
            dataset, task, collate = clip_data, RetrievalTask(), demo_data.collate_samples
        log(f"stage 2: {report.METHOD_NAMES.get(method, method)} ({config.train.max_steps} steps, batch {config.train.batch_size}, "
            f"freeze {config.model.freeze}, {'cached frame features' if cached else 'pixels'})")
        model, summary = train_stage(config, dataset=dataset, task=task, collate_fn=collate, device=device,
                                     run_dir=config.train.out_dir, progress=options.progress, model=model,
                                     began=began)
        runs[method], run_dirs[method] = _run_record(config, summary), Path(config.train.out_dir)
        runs[method]["frame_cache"] = cached
        timings[method] = summary["seconds"]
        began = time.perf_counter()
        result = evaluate_clips(model)
        if getattr(model.adapter, "moment_head", None) is not None:
            for split, prefix in (("test", ""), ("novel", "novel_")):
                videos, metadata = load_moment_tensor_cache(root, split)
                queries = demo_data.MomentQueries({"frames": videos}, metadata, num_frames=config.model.num_frames,
                                                  jitter=False)
                if len(queries) == 0:
                    continue
                moment = evaluation.moment_split_metrics(model, queries)
                result[f"{prefix}R1@0.5"], result[f"{prefix}mIoU"] = moment["R1@0.5"], moment["mIoU"]
                if "HL-min-VeryGood-mAP" in moment:  # the official highlight threshold ("Very Good")
                    result[f"{prefix}HL-mAP"] = moment["HL-min-VeryGood-mAP"]
                    result[f"{prefix}HL-Hit1"] = moment["HL-min-VeryGood-Hit1"]
                result[f"moments_{split}"] = moment
        result["train_seconds"] = summary["seconds"]
        methods[method] = result
        timings["eval"] += time.perf_counter() - began
        del model
        log(f"{report.METHOD_NAMES.get(method, method)}: " + ", ".join(
            f"{k} {result[k]:.1f}" for k in ("twin_acc", "t2v_R1", "novel_t2v_R1", "zeroshot_top1", "R1@0.5", "mIoU",
                                             "HL-mAP")
            if k in result) + f" (trained in {summary['seconds']:.0f}s)")

    # ---- 3. an index of the moment videos for `vidclip serve`; results, report, table ----------
    began = time.perf_counter()
    serve = build_serve_index(out, root, run_dirs, device=device)
    timings["serve_index"] = time.perf_counter() - began
    if serve is not None:
        log(f"indexed {serve['count']} moment videos into {serve['index']} with {serve['model']}")
    timings["total"] = log_total = time.perf_counter() - log.began
    results = {
        "methods": methods,
        "baseline": {"stage1": baseline},
        "targets": report.target_checks(methods),
        "pretrain": pretrain,
        "runs": runs,
        "timings": timings,
        "serve": serve,
        "settings": {"quick": options.quick, "device": device, "threads": torch.get_num_threads(),
                     "torch": torch.__version__, "cpu": _cpu_name(),
                     "seed": options.seed, "model": pretrain["model"], "pretrain_steps": pretrain["steps"],
                     "pretrain_batch": pretrain["batch_size"], "data": str(root),
                     "data_counts": manifest["counts"], "overrides": list(options.overrides),
                     "twin_batches": options.twin_batches, "frame_cache": options.frame_cache,
                     "distinct_gallery": distinct_gallery,
                     "t2v_R1_ceiling": {"test": baseline["test"]["t2v_R1_ceiling"],
                                        "novel": baseline["novel"]["t2v_R1_ceiling"]}},
    }
    report.write_results(out, results)
    report.write_report(out, {**results, "methods": {"stage1": baseline, **methods}}, run_dirs)
    print()
    print(report.format_table(report.table({"stage1": baseline, **methods})))
    print()
    for check in results["targets"]:
        mark = {True: "met", False: "NOT MET", None: "n/a"}[check["met"]]
        print(f"  [{mark}] {check['claim']}: {check['measured']}")
    log(f"wrote {out / 'results.json'} and {out / 'report.md'} (total {log_total:.0f}s)")
    if serve is not None:
        print(f"\nsearch the demo's videos, watch their moments and label them in a browser:\n  {serve['command']}")
    return results
