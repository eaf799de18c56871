"""The end-to-end demo behind `vidclip demo` / `make demo`.

    data.py        the synthetic dataset, generated once and served from its decoded-frame caches
    stages.py      one training stage on vidclip.train's Trainer, from a configs/synthetic_*.yaml recipe
    tasks.py       retrieval + moments in one step (VDI)
    evaluation.py  twin accuracy, retrieval, zero-shot classification and moments on cached frames
    report.py      the table, results.json, report.md and its plots
    serve_index.py an index of the moment videos and the `vidclip serve` command for it
    pipeline.py    all of it in order: `run_demo(DemoOptions(...))`
"""
