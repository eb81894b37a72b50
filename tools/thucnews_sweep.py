#!/usr/bin/env python3
"""THUCNews headlines: the fastText-style recipe searched in PyTorch, one run per setting, on OWM's split.

    python3 tools/thucnews_sweep.py [SETTING_JSON ...] > docs/results/thucnews_sweep.jsonl

Each setting is a JSON object of `run`'s keywords (`{"kinds": "cbw", "dim": 128}`); with none, the settings
quoted in `docs/applications.md` run in turn. Token kinds: `c` characters, `b` overlapping character pairs,
`t` character triples, `w` jieba's words (marked `w:` unless `"mark": false`), `p` pairs of adjacent words.
The split, the validation tenth, the vocabulary order and the init are those of `thucnews_torch.py` (OWM's);
training stops after 5 epochs without a lower validation loss and keeps the best epoch. Prints one JSON line
per setting with its test macro F1.
"""

import json
import os
import sys
import time
import unicodedata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import thucnews_torch as T  # noqa: E402
from fetch_datasets import datasets_dir  # noqa: E402
from owm_rng import derive_seed  # noqa: E402

DEFAULT_SETTINGS = [
    {"kinds": "cbt"},
    {"kinds": "cbw"},
    {"kinds": "cbw", "mark": False},
    {"kinds": "cbwp"},
    {"kinds": "cbtw"},
    {"kinds": "cbw", "dim": 128},
    {"kinds": "cbw", "decay": 4, "lr": 0.004, "batch": 64},
    {"kinds": "cbw", "decay": 4, "lr": 0.004, "batch": 64, "smoothing": 0.1},
    {"kinds": "cbw", "decay": 4, "lr": 0.004, "batch": 64, "token_drop": 0.2},
    {"kinds": "cbw", "min_count": 2},
    {"kinds": "cbtw", "hidden": 256, "dropout": 0.5},
    {"kinds": "cw"},
]


def tokens(text, kinds, mark):
    import jieba

    jieba.setLogLevel(60)
    text = unicodedata.normalize("NFKC", text).lower()
    chars = [c for c in text if c.isalnum()]
    out = []
    if "c" in kinds:
        out += chars
    if "b" in kinds:
        out += ["".join(chars[i : i + 2]) for i in range(len(chars) - 1)]
    if "t" in kinds:
        out += ["".join(chars[i : i + 3]) for i in range(len(chars) - 2)]
    words = [w for w in jieba.lcut(text) if any(c.isalnum() for c in w)]
    if "w" in kinds:
        out += [("w:" if mark else "") + w for w in words]
    if "p" in kinds:
        out += ["p:" + words[i] + "|" + words[i + 1] for i in range(len(words) - 1)]
    return out


def run(kinds, mark=True, dim=64, max_len=128, max_vocab=1000000, min_count=1, lr=1e-3, batch=32, decay=0, hidden=0,
        dropout=0.0, smoothing=0.0, token_drop=0.0, seed=42):
    import torch
    from torch import nn

    setting = {k: v for k, v in locals().items() if k not in ("torch", "nn")}
    rows = T.read(os.path.join(datasets_dir(), "thucnews", "thucnews_train_10w.txt"))
    classes = sorted({l for l, _ in rows})
    label_of = {c: i for i, c in enumerate(classes)}
    train_idx, test_idx = T.stratified_split([label_of[l] for l, _ in rows], 0.1, seed)
    train, test = [rows[i] for i in train_idx], [rows[i] for i in test_idx]
    torch.set_num_threads(2)
    torch.manual_seed(seed)
    kept, held = T.stratified_split([label_of[l] for l, _ in train], 0.1, derive_seed(seed, "data/validation"))
    docs = [tokens(t, kinds, mark) for _, t in train]
    counts = {}
    for i in kept:
        for t in docs[i]:
            counts[t] = counts.get(t, 0) + 1
    ranked = sorted(((t, n) for t, n in counts.items() if n >= min_count), key=lambda kv: (-kv[1], kv[0]))[:max_vocab]
    index = {t: i + 2 for i, (t, _) in enumerate(ranked)}

    def tensors(idx_docs, idx_rows):
        x = torch.tensor([T.encode(d, index, max_len) for d in idx_docs])
        return x, torch.tensor([label_of[l] for l, _ in idx_rows])

    xt, yt = tensors([docs[i] for i in kept], [train[i] for i in kept])
    xv, yv = tensors([docs[i] for i in held], [train[i] for i in held])
    xs, ys = tensors([tokens(t, kinds, mark) for _, t in test], test)
    table = nn.EmbeddingBag(len(index) + 2, dim, mode="mean", padding_idx=0, sparse=True)
    layers = [nn.Dropout(dropout)] if dropout else []
    layers += [nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, len(classes))] if hidden else [nn.Linear(dim, len(classes))]
    head = nn.Sequential(*layers)
    with torch.no_grad():
        bound = (6 / table.weight.shape[0]) ** 0.5
        table.weight.uniform_(-bound, bound)
    optimizers = (torch.optim.SparseAdam(list(table.parameters()), lr=lr), torch.optim.Adam(head.parameters(), lr=lr))
    train_loss, eval_loss = nn.CrossEntropyLoss(label_smoothing=smoothing), nn.CrossEntropyLoss()

    def evaluate(x, y):
        table.eval()
        head.eval()
        with torch.no_grad():
            logits = torch.cat([head(table(x[i : i + 2048])) for i in range(0, len(x), 2048)])
        table.train()
        head.train()
        return eval_loss(logits, y).item(), logits.argmax(1).tolist()

    started, best, since, best_state, best_epoch, step = time.time(), float("inf"), 0, None, 0, 0
    steps_per_epoch = (len(xt) + batch - 1) // batch
    for epoch in range(1, (decay or 200) + 1):
        order = torch.randperm(len(xt))
        for i in range(0, len(xt), batch):
            b = order[i : i + batch]
            if decay:
                for o in optimizers:
                    for g in o.param_groups:
                        g["lr"] = lr * (1 - step / (decay * steps_per_epoch))
                step += 1
            for o in optimizers:
                o.zero_grad()
            xb = xt[b] * (torch.rand(xt[b].shape) >= token_drop) if token_drop else xt[b]
            train_loss(head(table(xb)), yt[b]).backward()
            for o in optimizers:
                o.step()
        val_loss, _ = evaluate(xv, yv)
        if val_loss < best:
            best, since, best_epoch = val_loss, 0, epoch
            best_state = ({k: v.clone() for k, v in table.state_dict().items()}, {k: v.clone() for k, v in head.state_dict().items()})
        else:
            since += 1
            if since >= 5:
                break
    table.load_state_dict(best_state[0])
    head.load_state_dict(best_state[1])
    _, pred = evaluate(xs, ys)
    f1 = T.macro_f1(pred, ys.tolist(), len(classes))
    return {**setting, "vocab": len(index) + 2, "best_epoch": best_epoch, "seconds": round(time.time() - started, 1), "macro_f1": round(f1, 4)}


def main():
    settings = [json.loads(a) for a in sys.argv[1:]] or DEFAULT_SETTINGS
    for setting in settings:
        print(json.dumps(run(**setting)), flush=True)


if __name__ == "__main__":
    main()
