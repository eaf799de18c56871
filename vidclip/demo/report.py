"""The demo's outputs: the table printed at the end, results.json, report.md and its PNG plots."""

from __future__ import annotations

import json
import math
from pathlib import Path

from vidclip.atomic import write_text_atomic
from vidclip.train.metrics_log import read_metrics

METHOD_NAMES = {"stage1": "CLIP (stage 1, no video training)", "meanp": "meanP", "seqtransf": "seqTransf",
                "prompts": "temporal prompts", "vdi": "VDI", "glscl": "GLSCL",
                "glscl-noagg": "GLSCL without aggregation (ablation)",
                "vdi-noinject": "VDI without injection losses (ablation)"}
# what each ablation (configs/synthetic_<adapter>-<what>.yaml) should show, checked like the targets:
# [(claim, the result it reads, holds(the ablation's value, the full method's value or None))]


def _lower(ablated, full):
    return None if full is None else ablated < full  # None: the full method did not run, nothing to compare


ABLATION_CHECKS = {
    "glscl-noagg": [("GLSCL without its seqTransf aggregation is blind to frame order (twin accuracy about 50%)",
                     "twin_acc", lambda ablated, full: abs(ablated - 50) <= 5)],
    "vdi-noinject": [("VDI's injection losses help it find moments (moment R1@0.5 lower without them)",
                      "R1@0.5", _lower),
                     ("VDI's injection losses help it find moments of the novel split (novel R1@0.5 lower without them)",
                      "novel_R1@0.5", _lower),
                     ("VDI's injection losses teach the text tower the verbs (zero-shot top-1 lower without them)",
                      "zeroshot_top1", _lower)],
}
SHORT_NAMES = {"stage1": "stage-1 CLIP", "prompts": "prompts"}
# (key in a method's results, column title); moment and highlight (saliency head, "Very Good"
# threshold) columns only mean something for VDI
COLUMNS = (("twin_acc", "twin acc"), ("t2v_R1", "T2V R@1"), ("t2v_R1_dsl", "T2V R@1 DSL"), ("novel_t2v_R1", "novel R@1"),
           ("zeroshot_top1", "zero-shot top-1"), ("R1@0.5", "moment R1@0.5"), ("mIoU", "moment mIoU"),
           ("HL-mAP", "HL-mAP"), ("HL-Hit1", "HL-Hit1"),
           ("t2v_R1_distinct", "distinct R@1"), ("novel_t2v_R1_distinct", "novel distinct R@1"),
           ("t2v_R1_semantic", "sem. R@1"), ("novel_t2v_R1_semantic", "novel sem. R@1"))
BAR_KEYS = ("twin_acc", "t2v_R1", "novel_t2v_R1", "zeroshot_top1", "t2v_R1_distinct", "novel_t2v_R1_distinct")
ORDER_BLIND = "meanp"  # the baseline every temporal adapter is measured against


def _cell(value) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.1f}"


def table(methods: dict) -> list[list[str]]:
    """Rows (header first) of the results table; '-' where a method does not measure a column."""
    rows = [["method", *(title for _, title in COLUMNS), "train s"]]
    for name, result in methods.items():
        seconds = result.get("train_seconds")
        rows.append([METHOD_NAMES.get(name, name), *(_cell(result.get(key)) for key, _ in COLUMNS),
                     "-" if seconds is None else f"{seconds:.0f}"])
    return rows


def format_table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "|".join(["---"] + ["---:"] * (len(rows[0]) - 1)) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return "\n".join(lines)


def target_checks(methods: dict) -> list[dict]:
    """The issue's claims, each with what was measured and whether it holds (reported, never asserted)."""
    checks = []

    def add(claim, measured, met):
        checks.append({"claim": claim, "measured": measured, "met": bool(met) if met is not None else None})

    meanp = methods.get("meanp", {})
    if "twin_acc" in meanp:
        add("meanP twin accuracy is about 50% (blind to frame order by construction)",
            f"{meanp['twin_acc']:.1f}%", abs(meanp["twin_acc"] - 50) <= 5)
    temporal = [name for name in methods if name not in (ORDER_BLIND, "stage1") and name not in ABLATION_CHECKS]
    for name in temporal:
        if "twin_acc" in methods.get(name, {}):
            value = methods[name]["twin_acc"]
            add(f"{METHOD_NAMES.get(name, name)} twin accuracy >= 90%", f"{value:.1f}%", value >= 90)
    for name, claims in ABLATION_CHECKS.items():
        full_name = name.partition("-")[0]
        ablated, full = methods.get(name, {}), methods.get(full_name, {})
        for claim, key, holds in claims:
            if key in ablated:
                against = f" (full {METHOD_NAMES.get(full_name, full_name)}: {full[key]:.1f}%)" if key in full else ""
                add(claim, f"{ablated[key]:.1f}%{against}", holds(ablated[key], full.get(key)))
    adapters = {n: methods[n] for n in temporal if "t2v_R1" in methods.get(n, {})}
    if adapters and "t2v_R1" in meanp:
        best = max(adapters, key=lambda n: adapters[n]["t2v_R1"])
        gain = adapters[best]["t2v_R1"] - meanp["t2v_R1"]
        add("best adapter's T2V R@1 beats meanP's by >= 20 points",
            f"{METHOD_NAMES.get(best, best)} {adapters[best]['t2v_R1']:.1f} vs meanP {meanp['t2v_R1']:.1f} ({gain:+.1f})",
            gain >= 20)
        result = adapters[best]
        if result.get("novel_t2v_R1_distinct") is not None:
            drop = result["t2v_R1_distinct"] - result["novel_t2v_R1_distinct"]
            full = ""
            if "test" in result and "novel" in result:
                full = (f"; on the full splits {result['t2v_R1']:.1f} vs {result['novel_t2v_R1']:.1f}, whose plain "
                        f"R@1 ceilings differ (test {result['test']['t2v_R1_ceiling']:.1f}, novel "
                        f"{result['novel']['t2v_R1_ceiling']:.1f}: clips that share a caption's meaning)")
            size = result.get("test", {}).get("distinct_gallery_size", "?")
            add("the novel split costs the best adapter < 15 points of R@1 (galleries of "
                f"{size} clips with distinct meanings on both splits)",
                f"{METHOD_NAMES.get(best, best)} test {result['t2v_R1_distinct']:.1f}, novel "
                f"{result['novel_t2v_R1_distinct']:.1f} ({-drop:+.1f}){full}", drop < 15)
    if "R1@0.5" in methods.get("vdi", {}):
        value = methods["vdi"]["R1@0.5"]
        add("VDI moment R1@0.5 >= 60%", f"{value:.1f}%", value >= 60)
    return checks


def write_results(out: Path, results: dict) -> Path:
    path = Path(out) / "results.json"
    write_text_atomic(path, json.dumps(results, indent=2, sort_keys=False) + "\n")
    return path


def plot_losses(out: Path, runs: dict) -> str | None:
    """loss_curves.png: stage 1 on the left, every stage-2 method on the right."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def points(records, keys):
        for key in keys:  # the InfoNCE term: comparable across methods (VDI adds moment and injection losses)
            found = [(r["step"], r[key]) for r in records if key in r]
            if found:
                return found
        return []

    curves = {name: points(read_metrics(run_dir), ("contrastive", "retrieval/contrastive", "loss"))
              for name, run_dir in runs.items()}
    curves = {name: found for name, found in curves.items() if found}
    if not curves:
        return None
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    if "pretrain" in curves:
        steps, losses = zip(*curves["pretrain"])
        left.plot(steps, losses, color="black")
    else:
        left.text(0.5, 0.5, "stage 1 not run here\n(a saved checkpoint was reused)", ha="center", va="center",
                  transform=left.transAxes)
    left.set(title="stage 1: image-text pre-training on stills", xlabel="step", ylabel="InfoNCE loss")
    for name, found in curves.items():
        if name != "pretrain":
            steps, losses = zip(*found)
            right.plot(steps, losses, label=METHOD_NAMES.get(name, name))
    right.set(title="stage 2: video adaptation (video-text InfoNCE term)", xlabel="step", ylabel="InfoNCE loss")
    if len(curves) > 1:
        right.legend()
    for axis in (left, right):
        axis.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(Path(out) / "loss_curves.png", dpi=110)
    plt.close(fig)
    return "loss_curves.png"


def plot_metrics(out: Path, methods: dict) -> str | None:
    """metrics.png: grouped bars of the clip metrics per method, and VDI's moment metrics."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [(k, t) for k, t in COLUMNS if k in BAR_KEYS and any(k in m for m in methods.values())]
    if not keys:
        return None
    names = list(methods)
    moments = {n: m for n, m in methods.items() if "R1@0.5" in m}
    fig, axes = plt.subplots(1, 2 if moments else 1, figsize=(12 if moments else 8, 4),
                             gridspec_kw={"width_ratios": [3, 1]} if moments else None, squeeze=False)
    bars = axes[0][0]
    width = 0.8 / len(keys)
    for i, (key, title) in enumerate(keys):
        values = [methods[n].get(key, float("nan")) for n in names]
        positions = [j + (i - (len(keys) - 1) / 2) * width for j in range(len(names))]
        bars.bar(positions, values, width, label=title)
    bars.axhline(50, color="grey", lw=0.8, ls=":")
    bars.set_xticks(range(len(names)), [SHORT_NAMES.get(n, METHOD_NAMES.get(n, n)) for n in names], rotation=15)
    bars.set(ylim=(0, 100), ylabel="%", title="held-out clips (test split; novel = unseen action-shape pairs)")
    bars.legend(fontsize=8, loc="upper left")
    bars.grid(axis="y", alpha=0.3)
    if moments:
        axis = axes[0][1]
        for j, name in enumerate(moments):
            full = moments[name].get("moments_test", moments[name])
            values = [full.get(k, float("nan")) for k in ("R1@0.3", "R1@0.5", "R1@0.7", "mIoU")]
            axis.bar(range(4), values, 0.6, label=METHOD_NAMES.get(name, name))
        axis.set_xticks(range(4), ["R1@0.3", "R1@0.5", "R1@0.7", "mIoU"])
        axis.set(ylim=(0, 100), title="moment retrieval (test videos)")
        axis.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(Path(out) / "metrics.png", dpi=110)
    plt.close(fig)
    return "metrics.png"


def write_report(out: Path, results: dict, runs: dict) -> Path:
    """report.md beside results.json, with the plots as PNGs in the same folder."""
    out = Path(out)
    methods = results["methods"]
    plots = [p for p in (plot_losses(out, runs), plot_metrics(out, methods)) if p]
    settings, timings = results["settings"], results["timings"]
    lines = [
        "# vidclip demo: from image-text CLIP to video",
        "",
        f"Synthetic shape videos (`vidclip synth`, seed {settings['seed']}); "
        f"{'QUICK smoke-test budget: numbers mean nothing. ' if settings['quick'] else ''}"
        f"Device {settings['device']}, {settings['threads']} CPU threads"
        + (f" ({settings['cpu']}, torch {settings['torch']})" if "cpu" in settings else "")
        + f", total {timings['total']:.0f} s.",
        "",
        f"1. **Stage 1**: a tiny open_clip CLIP (`{settings['model']}`) is pre-trained from scratch on still "
        "frames with static captions " + (f"({settings['pretrain_steps']} steps at batch {settings['pretrain_batch']})."
                                           if settings["pretrain_steps"] else f"(reused: `{results['pretrain']['checkpoint']}`)."),
        "2. **Stage 2**: each method adapts that CLIP to 8-frame clips with the visual tower frozen "
        "(steps and batch per method below; each drawn clip brings its temporal twin into the batch as a hard "
        "negative); VDI also trains its moment head on untrimmed videos (16 frames each) in the same steps.",
        "3. **Evaluation** on held-out clips: *twin acc* = how often a clip's own caption outscores its "
        "temporal twin's (the same frames reversed, with the reversed action's caption) — 50% for any model "
        "blind to frame order; *T2V R@1* over the test split; *novel R@1* over clips of action-shape pairs "
        "never seen in training; *zero-shot* = action class from class-name prompts; moments (VDI) on "
        "untrimmed test videos; *HL-mAP*/*HL-Hit1* = highlight detection from VDI's saliency head on the same "
        "videos (QVHighlights' metrics at the \"Very Good\" threshold, synthetic 0-4 ratings per 2 s clip). *sem. R@1* counts a top clip showing what the caption says (action, shape, "
        "colours) as a hit: captions never say where or how big, so splits repeat meanings and plain R@1 "
        "cannot exceed {test:.0f}% (test) or {novel:.0f}% (novel) even for a perfect model. *distinct R@1* is "
        "plain R@1 on galleries of {size} clips that all differ in meaning, drawn alike from both splits (mean "
        "of 20 draws): every caption has one right answer among as many candidates on each split, so test and "
        "novel compare on it.".format(
            test=settings.get("t2v_R1_ceiling", {}).get("test", float("nan")),
            novel=settings.get("t2v_R1_ceiling", {}).get("novel", float("nan")),
            size=settings.get("distinct_gallery", "?")),
        "",
        markdown_table(table(methods)),
        "",
        "## The issue's targets (measured, not asserted)",
        "",
    ]
    for check in results["targets"]:
        mark = {True: "met", False: "**not met**", None: "n/a"}[check["met"]]
        lines.append(f"- {check['claim']}: {check['measured']} — {mark}")
    lines += ["", "## Plots", ""] + [f"![{p}]({p})" for p in plots]
    lines += ["", "## Runs", "", "| stage | steps | batch | lr (new / towers) | trainable params | seconds |",
              "|---|---:|---:|---|---:|---:|"]
    for name, run in results["runs"].items():
        lines.append(f"| {METHOD_NAMES.get(name, name)} | {run['steps']} | {run['batch_size']} | "
                     f"{run['lr']:g} / {run['tower_lr']:g} | {run['trainable_parameters']:,} | {run['seconds']:.0f} |")
    lines += ["", "Timings (s): " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()), "",
              "Full metrics (both retrieval directions, R@5/10, MedR, moment R1/R5 at 0.3/0.5/0.7, mAP) are in "
              "`results.json`; training logs in `runs/<stage>/metrics.jsonl` (and TensorBoard events).", ""]
    path = out / "report.md"
    write_text_atomic(path, "\n".join(lines))
    return path
