"""Evaluate a model on an annotation file: embed once, score with the method's own head, write
the predictions and a metrics JSON. Used by `vidclip eval` and by the training loop's eval hook.

- retrieval: every unique video is embedded once; every caption is a query (R@k, MedR, MnR both ways);
- moments: every video is embedded once; each query gets its windows and per-clip saliency (QVHighlights
  jsonl); windows score against the queries that have one, saliency against QVHighlights' levels or,
  for highlight-only ratings, TVSum's top-5 mAP (2 s clips rated) or YouTube Highlights' mAP
  (labelled windows: one saliency score per window);
- classification: every clip against the class prompts (top-1 / top-5).
Videos that cannot be decoded are skipped, counted and listed; their queries leave the evaluation.
"""

import json
from pathlib import Path

import numpy as np
import torch

from vidclip.atomic import write_text_atomic


def guess_task(annotations, has_moment_head):
    """classification with class names; moments when the records have moments or highlight ratings
    (TVSum, YouTube Highlights) and the model a head to find them; otherwise retrieval (of the
    moments' clips, when records are trimmed)."""
    if annotations.classes:
        return "classification"
    if has_moment_head and any(record.has_moment or clip_ratings(record) is not None
                               or window_labels(record) is not None for record in annotations.records[:100]):
        return "moments"
    return "retrieval"


def query_windows(record):
    """The query's ground-truth windows ([[start, end], ...]), or None for a highlight-only record."""
    if record.extra.get("relevant_windows"):
        return record.extra["relevant_windows"]
    return [[record.start, record.end]] if record.has_moment else None


def clip_ratings(record):
    """(clips, annotators) ratings of a highlight-only record (no window) that rates every 2 s clip,
    as TVSum does: it is scored with TVSum's top-5 mAP (a per-annotator median threshold, so any
    rating scale works), not QVHighlights' absolute levels on 0-4. None for any other record."""
    ids, scores = record.extra.get("relevant_clip_ids"), record.extra.get("saliency_scores")
    if query_windows(record) is not None or not ids or not scores or sorted(ids) != list(range(len(ids))):
        return None
    ratings = np.asarray(scores, dtype=np.float64).reshape(len(ids), -1)  # (clips, annotators) in file order
    return ratings[np.argsort(ids)]  # (clips, annotators) in clip order


def window_labels(record):
    """(windows (C, 2) seconds, 0/1 labels (C,)) of a highlight-only record that labels overlapping
    windows (YouTube Highlights' "clip" and match > 0): scored with UMT's mAP over every window.
    None for any other record."""
    windows, labels = record.extra.get("clip_windows"), record.extra.get("clip_labels")
    if query_windows(record) is not None or not windows or labels is None or len(windows) != len(labels):
        return None
    return np.asarray(windows, dtype=np.float64).reshape(-1, 2), np.asarray(labels, dtype=np.float64)


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
                         workers=0, templates=None, num_windows=10, ties="pessimistic", v2t_rank="by_video",
                         rerank="none", querybank=None, out_dir=None):
    """Metrics dict for `annotations` (a `vidclip.data.formats.Annotations`); writes files to out_dir.

    Retrieval only: `rerank` "dsl" or "qbnorm" (with `querybank`, a list of other captions) re-ranks
    the scores before the metrics (vidclip.eval.rerank)."""
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
                               ties=ties, v2t_rank=v2t_rank, rerank=rerank, querybank=querybank)
    metrics = {"task": task, "annotations": str(annotations.report.path), **metrics}
    if out_dir is not None:
        out_dir = Path(out_dir)
        write_text_atomic(out_dir / "metrics.json", json.dumps(metrics, indent=2) + "\n")
        name = "predictions.jsonl" if task == "moments" else "predictions.json"
        text = ("".join(json.dumps(p) + "\n" for p in predictions) if task == "moments"
                else json.dumps(predictions) + "\n")
        write_text_atomic(out_dir / name, text)
    return metrics


def _reranked(pipeline, sim, features, rerank, querybank):
    """(t2v scores, v2t scores) after `rerank` (see vidclip.eval.rerank)."""
    from vidclip.eval import rerank as reranking

    if rerank == "dsl":
        return reranking.dual_softmax(sim, dim=0), reranking.dual_softmax(sim, dim=1)
    if rerank == "qbnorm":
        if not querybank:
            raise ValueError("rerank 'qbnorm' needs a query bank: captions from another split, e.g. the training file")
        bank_sim = pipeline.similarity(pipeline.text_features(list(querybank)), features)  # (N_bank, N_video)
        return reranking.querybank_normalize(sim, bank_sim), sim
    if rerank != "none":
        raise ValueError(f"unknown rerank {rerank!r}; choose one of {reranking.RERANKERS}")
    return sim, sim


def _retrieval(pipeline, annotations, options, *, ties, v2t_rank, rerank="none", querybank=None, **_):
    from vidclip.eval.metrics import retrieval_metrics

    videos, owner = first_record_per_video(annotations.records)
    features, kept, _, skipped = embed_records(pipeline, videos, clip_to_moment=True, **options)
    row = {video: i for i, video in enumerate(kept)}
    queries = [(record, row[owner[i]]) for i, record in enumerate(annotations.records) if owner[i] in row]
    text = pipeline.text_features([record.caption for record, _ in queries])
    sim = pipeline.similarity(text, features)  # (N_text, N_video)
    t2v_sim, v2t_sim = _reranked(pipeline, sim, features, rerank, querybank)
    targets = [video for _, video in queries]
    metrics = retrieval_metrics(t2v_sim, targets, ties=ties, v2t_rank=v2t_rank)
    if v2t_sim is not t2v_sim:  # each direction from its own re-ranked scores
        v2t = retrieval_metrics(v2t_sim, targets, ties=ties, v2t_rank=v2t_rank)
        metrics.update({key: value for key, value in v2t.items() if key.startswith("v2t_")})
    metrics.update(num_texts=len(queries), num_videos=len(kept), **_skipped_metrics(skipped), rerank=rerank)
    top = t2v_sim.topk(min(10, sim.shape[1]), dim=1).indices.tolist()
    predictions = [{"caption": record.caption, "video_id": record.video_id,
                    "ranked_videos": [videos[kept[j]].video_id for j in ranked]}
                   for (record, _), ranked in zip(queries, top)]
    return metrics, predictions


def _moments(pipeline, annotations, options, *, num_windows, **_):
    """Windows from the moment head; saliency per 2 s clip from its saliency head (the frames'
    scores averaged per clip), or, for a checkpoint without one, from the query's cosine with each
    sampled frame (untrained; metrics["saliency_from"] says which). Moment metrics cover the queries
    with a window; highlights are scored with QVHighlights' levels where a query has a window and
    ratings, with TVSum's top-5 mAP where it has 2 s clip ratings alone (`clip_ratings`), and with
    YouTube Highlights' mAP where it has labelled windows (`window_labels`): its
    `pred_saliency_scores` then hold one score per window (`window_saliency`), not per 2 s clip."""
    import torch.nn.functional as F

    from vidclip.eval.metrics import (highlight_metrics, moment_metrics, tvsum_highlight_metrics,
                                      youtube_highlight_metrics)
    from vidclip.moments.find import saliency, window_saliency

    if not pipeline.has_moment_head:
        raise ValueError(f"the {pipeline.model.config.get('adapter')!r} adapter has no moment head; "
                         "moment retrieval needs a model trained with adapter vdi")
    videos, owner = first_record_per_video(annotations.records)
    features, kept, times, skipped = embed_records(pipeline, videos, clip_to_moment=False, **options)
    row = {video: i for i, video in enumerate(kept)}
    queries = [i for i, record in enumerate(annotations.records) if owner[i] in row]
    texts = pipeline.embed_texts([annotations.records[i].caption for i in queries])  # (Nq, D)
    frames = F.normalize(features["frames"].float(), dim=-1)  # (Nv, T, D)
    predictions, ground_truth, highlights, ratings, labelled = [], {}, {}, {}, {}  # dicts by prediction index
    model = pipeline.model
    for text, i in zip(texts, queries):
        record, r = annotations.records[i], row[owner[i]]
        clip = {key: value[r:r + 1].to(pipeline.device) for key, value in features.items()}
        query = text[None].to(pipeline.device)  # (1, D): the caption encoded once for windows and saliency
        windows = model.predict_moments(clip, times[r:r + 1], query, top_k=num_windows)[0]
        valid = features["frame_mask"][r] if "frame_mask" in features else torch.ones(len(times[r]), dtype=torch.bool)
        head_scores = model.predict_saliency(clip, query)  # (1, T) or None
        curve = (frames[r][valid] @ text).numpy() if head_scores is None else head_scores[0].float().cpu()[valid].numpy()
        stamps = times[r][valid].numpy()
        duration = record.duration or float(stamps[-1]) + 1e-3
        qid = record.extra.get("qid", i)
        truths = _labels(record)
        labelled_windows = truths[3]  # YouTube Highlights: a score per labelled window, not per 2 s clip
        per_clip = (saliency(curve, stamps, duration) if labelled_windows is None
                    else window_saliency(curve, stamps, labelled_windows[0]))
        predictions.append({"qid": qid, "query": record.caption, "vid": record.video_id,
                            "pred_relevant_windows": [[round(s, 3), round(e, 3), round(float(p), 5)]
                                                      for s, e, p in windows],
                            "pred_saliency_scores": per_clip})
        n = len(predictions) - 1
        for found, truth in zip((ground_truth, highlights, ratings, labelled), truths):
            if truth is not None:
                found[n] = truth
    metrics = {}
    if ground_truth:  # highlight-only files (TVSum) have no window to score
        metrics.update(moment_metrics({k: predictions[k]["pred_relevant_windows"] for k in ground_truth}, ground_truth))
        metrics["num_moment_queries"] = len(ground_truth)
    if highlights:
        metrics.update(highlight_metrics({k: predictions[k]["pred_saliency_scores"] for k in highlights},
                                         highlights))
        metrics["num_highlight_queries"] = len(highlights)
    if ratings:
        metrics.update(tvsum_highlight_metrics({k: predictions[k]["pred_saliency_scores"] for k in ratings}, ratings,
                                               categories=_domains(annotations, queries, ratings)))
        metrics["num_top5_queries"] = len(ratings)
    if labelled:
        metrics.update(youtube_highlight_metrics({k: predictions[k]["pred_saliency_scores"] for k in labelled},
                                                 {k: labels for k, (_, labels) in labelled.items()},
                                                 categories=_domains(annotations, queries, labelled)))
        metrics["num_window_label_queries"] = len(labelled)
    metrics.update(num_queries=len(predictions), num_videos=len(kept), **_skipped_metrics(skipped),
                   saliency_from=SALIENCY_SOURCES[head_scores is not None])
    return metrics, predictions


def _domains(annotations, queries, keys):
    """{prediction index: its record's domain} for `keys`, or None when a record has none."""
    domains = {k: annotations.records[queries[k]].extra.get("category") for k in keys}
    return domains if None not in domains.values() else None


def _labels(record):
    """(windows, QVHighlights highlight labels, TVSum clip ratings, YouTube Highlights labelled windows)
    of a query; None where it has none."""
    from vidclip.eval.metrics import saliency_labels

    windows, ratings, labels = query_windows(record), clip_ratings(record), None
    extra = record.extra
    if windows is not None and record.duration and extra.get("saliency_scores") and extra.get("relevant_clip_ids"):
        labels = saliency_labels(record.duration, extra["relevant_clip_ids"], extra["saliency_scores"])
        labels = labels if len(labels) else None  # a video under 2 s has no whole clip to rate
    return windows, labels, ratings, window_labels(record)


SALIENCY_SOURCES = {True: "saliency head", False: "cosine (untrained fallback)"}  # metrics["saliency_from"]


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
