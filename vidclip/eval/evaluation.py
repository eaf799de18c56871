"""Evaluate a model on an annotation file: embed once, score with the method's own head, write
the predictions and a metrics JSON. Used by `vidclip eval` and by the training loop's eval hook.

- retrieval: every unique video is embedded once; every caption is a query (R@k, MedR, MnR both ways);
- moments: every video is embedded once; each query gets its windows (QVHighlights jsonl);
- classification: every clip against the class prompts (top-1 / top-5).
Videos that cannot be decoded are skipped, counted and listed; their queries leave the evaluation.
"""

import json
from pathlib import Path

import torch

from vidclip.atomic import write_text_atomic


def guess_task(annotations, has_moment_head):
    """classification with class names; moments when the records have them and the model a head
    to find them; otherwise retrieval (of the moments' clips, when records are trimmed)."""
    if annotations.classes:
        return "classification"
    if has_moment_head and any(record.has_moment for record in annotations.records[:100]):
        return "moments"
    return "retrieval"


def first_record_per_video(records):
    """(unique video records in first-seen order, record index -> video index)."""
    index, videos, owner = {}, [], []
    for record in records:
        if record.video_id not in index:
            index[record.video_id] = len(videos)
            videos.append(record)
        owner.append(index[record.video_id])
    return videos, owner


def embed_records(pipeline, records, *, num_frames, batch_size, workers, clip_to_moment):
    """Video feature dicts (CPU) for annotation `records`, decoded by a DataLoader; the positions that decoded."""
    from torch.utils.data import DataLoader

    from vidclip.data.dataset import VideoTextDataset, collate_videos
    from vidclip.video.transforms import resize_options

    dataset = VideoTextDataset(records, num_frames=num_frames, clip_to_moment=clip_to_moment, size=pipeline.image_size,
                               **resize_options(pipeline.preprocess))
    loader = DataLoader(dataset, batch_size=batch_size, num_workers=workers, collate_fn=collate_videos)
    parts, kept, times = [], [], []
    for batch in loader:
        if len(batch["caption"]) == 0:
            continue
        features = pipeline.encode_clips(pipeline.normalize(batch["frames"]), batch["mask"])
        parts.append({key: value.float().cpu() if value.is_floating_point() else value.cpu()
                      for key, value in features.items()})
        kept.extend(batch["index"].tolist())
        times.append(batch["timestamps"])
    if not parts:
        raise ValueError(f"none of the {len(records)} videos could be decoded; check the video paths")
    features = {key: torch.cat([part[key] for part in parts]) for key in parts[0]}
    decoded = set(kept)
    skipped = sorted({str(record.video) for i, record in enumerate(records) if i not in decoded})
    return features, kept, torch.cat(times), skipped


def _skipped_metrics(skipped) -> dict:
    """The count, and the files when there are any (so `vidclip eval` can list them)."""
    return {"skipped_videos": len(skipped), **({"unreadable_videos": skipped} if skipped else {})}


def evaluate_annotations(model, annotations, *, task=None, device="cpu", num_frames=None, batch_size=16,
                         workers=0, templates=None, num_windows=10, ties="pessimistic", out_dir=None):
    """Metrics dict for `annotations` (a `vidclip.data.formats.Annotations`); writes files to out_dir."""
    from vidclip.pipeline import Pipeline

    if len(annotations) == 0:
        raise ValueError(f"{annotations.report.path}: no annotations to evaluate")
    pipeline = Pipeline(model, device=device, num_frames=num_frames)
    task = task or guess_task(annotations, pipeline.has_moment_head)
    options = dict(num_frames=pipeline.num_frames, batch_size=batch_size, workers=workers)
    run = {"retrieval": _retrieval, "moments": _moments, "classification": _classification}.get(task)
    if run is None:
        raise ValueError(f"cannot evaluate task {task!r}; choose retrieval, moments or classification")
    metrics, predictions = run(pipeline, annotations, options, templates=templates, num_windows=num_windows,
                               ties=ties)
    metrics = {"task": task, "annotations": str(annotations.report.path), **metrics}
    if out_dir is not None:
        out_dir = Path(out_dir)
        write_text_atomic(out_dir / "metrics.json", json.dumps(metrics, indent=2) + "\n")
        name = "predictions.jsonl" if task == "moments" else "predictions.json"
        text = ("".join(json.dumps(p) + "\n" for p in predictions) if task == "moments"
                else json.dumps(predictions) + "\n")
        write_text_atomic(out_dir / name, text)
    return metrics


def _retrieval(pipeline, annotations, options, *, ties, **_):
    from vidclip.eval.metrics import retrieval_metrics

    videos, owner = first_record_per_video(annotations.records)
    features, kept, _, skipped = embed_records(pipeline, videos, clip_to_moment=True, **options)
    row = {video: i for i, video in enumerate(kept)}
    queries = [(record, row[owner[i]]) for i, record in enumerate(annotations.records) if owner[i] in row]
    text = pipeline.text_features([record.caption for record, _ in queries])
    sim = pipeline.similarity(text, features)  # (N_text, N_video)
    metrics = retrieval_metrics(sim, [video for _, video in queries], ties=ties)
    metrics.update(num_texts=len(queries), num_videos=len(kept), **_skipped_metrics(skipped))
    top = sim.topk(min(10, sim.shape[1]), dim=1).indices.tolist()
    predictions = [{"caption": record.caption, "video_id": record.video_id,
                    "ranked_videos": [videos[kept[j]].video_id for j in ranked]}
                   for (record, _), ranked in zip(queries, top)]
    return metrics, predictions


def _moments(pipeline, annotations, options, *, num_windows, **_):
    from vidclip.eval.metrics import moment_metrics

    if not pipeline.has_moment_head:
        raise ValueError(f"the {pipeline.model.config.get('adapter')!r} adapter has no moment head; "
                         "moment retrieval needs a model trained with adapter vdi")
    videos, owner = first_record_per_video(annotations.records)
    features, kept, times, skipped = embed_records(pipeline, videos, clip_to_moment=False, **options)
    row = {video: i for i, video in enumerate(kept)}
    predictions, ground_truth = [], []
    model = pipeline.model
    for i, record in enumerate(annotations.records):
        if owner[i] not in row:
            continue
        r = row[owner[i]]
        clip = {key: value[r:r + 1].to(pipeline.device) for key, value in features.items()}
        tokens = model.tokenize([record.caption]).to(pipeline.device)
        windows = model.predict_moments(clip, times[r:r + 1], tokens, top_k=num_windows)[0]
        predictions.append({"qid": record.extra.get("qid", i), "query": record.caption, "vid": record.video_id,
                            "pred_relevant_windows": [[round(s, 3), round(e, 3), round(float(p), 5)]
                                                      for s, e, p in windows]})
        ground_truth.append(record.extra.get("relevant_windows") or [[record.start, record.end]])
    metrics = moment_metrics([p["pred_relevant_windows"] for p in predictions], ground_truth)
    metrics.update(num_queries=len(predictions), num_videos=len(kept), **_skipped_metrics(skipped))
    return metrics, predictions


def _classification(pipeline, annotations, options, *, templates, ties, **_):
    from vidclip.data.formats import class_prompts
    from vidclip.eval.metrics import classification_metrics
    from vidclip.train.tasks import ClassificationTask

    if not annotations.classes:
        raise ValueError(f"{annotations.report.path}: no class names, cannot classify")
    prompts = class_prompts(annotations.classes, templates) if templates else class_prompts(annotations.classes)
    records = annotations.records
    features, kept, _, skipped = embed_records(pipeline, records, clip_to_moment=True, **options)
    with torch.inference_mode():
        text = ClassificationTask(prompts).class_text_features(pipeline.model)
    logits = pipeline.similarity({k: v.cpu() for k, v in text.items()}, features).t()  # (N, C)
    labels = torch.tensor([records[i].label for i in kept])
    metrics = classification_metrics(logits, labels, ties=ties)
    metrics.update(num_clips=len(kept), num_classes=len(annotations.classes), **_skipped_metrics(skipped))
    predicted = logits.argmax(dim=1).tolist()
    predictions = [{"video_id": records[i].video_id, "label": annotations.classes[records[i].label],
                    "predicted": annotations.classes[p]} for i, p in zip(kept, predicted)]
    return metrics, predictions
