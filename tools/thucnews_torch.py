#!/usr/bin/env python3
"""THUCNews headlines, OWM's text default beside the same recipe in PyTorch, on the same split.

    python3 tools/thucnews_torch.py OWM_BINARY OUT.json [--seed 42] [--tokenizer chars+char-bigrams+jieba]

The 100,000 headlines (`tools/fetch_datasets.py thucnews`) are split stratified 90/10 by OWM's own algorithm
(`stratified_split` with `Rng::derived(seed, "split/stratified")`, ported in `owm_rng.py`) and written to two
files, so both sides train and test on exactly the same headlines. OWM runs `owm train --task text` on them with
its defaults (and no checkpoints): a validation tenth held out of the training file (`derive_seed(seed, "data/validation")`), an
embedding bag of 64, Adam at 1e-3 (lazy for the table), batch 32, early stopping on the validation loss with
patience 10 within 200 epochs, ending on the best epoch.

PyTorch trains the same recipe: the same tokens (NFKC, lower case, letters and digits; characters, their
overlapping pairs, and jieba's words marked `w:`, cut by the Python `jieba` package that jieba-rs ports), the
same vocabulary (training tokens by decreasing count, ties in code-point order, at most
`--max-vocab`, `<pad>` 0 and `<unk>` 1), the same validation split, `nn.EmbeddingBag(mode="mean",
padding_idx=0)` and a linear layer initialised as OWM's default plan does (Kaiming-uniform, gain √2, on the
fan-in: a table's rows, a layer's inputs; zero biases), `torch.optim.SparseAdam` for the table
and `Adam` for the layer (lr 1e-3), batch 32, the same early stopping. Both report the test macro F1 and wall
time on the same threads (`torch.set_num_threads(2)`). Writes `OUT.json`.

`--speed EPOCHS` times the training loops instead (`cargo xtask bench` runs it): both sides train exactly EPOCHS
epochs without early stopping, OWM with its lazy table and PyTorch once with a dense table (`sparse=False`, one
`Adam` over every parameter, what `nn.EmbeddingBag` users get by default) and once with `SparseAdam`; each
reports the seconds of its training steps per epoch (validation passes and test evaluation left out).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import unicodedata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from owm_rng import Xoshiro, derive_seed  # noqa: E402
from fetch_datasets import datasets_dir  # noqa: E402


def stratified_split(labels, fraction, seed):
    """owm_data's stratified_split: per class in class order, a permutation; its first round(n·fraction) held out."""
    rng = Xoshiro(derive_seed(seed, "split/stratified"))
    kept, held = [], []
    for c in sorted(set(labels)):
        members = [i for i, l in enumerate(labels) if l == c]
        order = rng.permutation(len(members))
        n_held = 0 if len(members) < 2 else min(max(int(len(members) * fraction + 0.5), 1), len(members) - 1)
        for k, o in enumerate(order):
            (held if k < n_held else kept).append(members[o])
    return sorted(kept), sorted(held)


def read(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n").rstrip("\r")
            if line.strip():
                label, text = line.split("\t", 1)
                rows.append((label.strip(), text))
    return rows


def tokens(text, tokenizer):
    """owm_data::text::tokenize: the pieces' tokens in order; words marked `w:` beside characters or pairs."""
    text = unicodedata.normalize("NFKC", text).lower()
    pieces = "chars+char-bigrams" if tokenizer == "chars-and-bigrams" else tokenizer
    pieces = pieces.split("+")
    words = [p for p in pieces if p in ("words", "jieba")]
    mark = "w:" if words and len(words) < len(pieces) else ""
    chars = [c for c in text if c.isalnum()]
    out = []
    for piece in pieces:
        if piece == "chars":
            out += chars
        elif piece == "char-bigrams":
            out += chars if len(chars) == 1 and "chars" not in pieces else []
            out += ["".join(chars[i : i + 2]) for i in range(len(chars) - 1)]
        elif piece == "jieba":
            import jieba

            jieba.setLogLevel(60)
            out += [mark + w for w in jieba.lcut(text) if any(c.isalnum() for c in w)]
        else:
            sys.exit(f"this script does not port the tokenizer piece `{piece}`")
    return out


def vocab(docs, max_size):
    counts = {}
    for d in docs:
        for t in d:
            counts[t] = counts.get(t, 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:max_size]
    return {t: i + 2 for i, (t, _) in enumerate(ranked)}


def encode(doc, index, max_len):
    ids = [index.get(t, 1) for t in doc[:max_len]]
    return ids + [0] * (max_len - len(ids))


def macro_f1(pred, gold, classes):
    f1s = []
    for c in range(classes):
        tp = sum(1 for p, g in zip(pred, gold) if p == c and g == c)
        fp = sum(1 for p, g in zip(pred, gold) if p == c and g != c)
        fn = sum(1 for p, g in zip(pred, gold) if p != c and g == c)
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return sum(f1s) / classes


def torch_run(train, test, classes, args, sparse_table=True):
    import torch
    from torch import nn

    torch.set_num_threads(2)
    torch.manual_seed(args.seed)
    label_of = {c: i for i, c in enumerate(classes)}
    kept, held = stratified_split([label_of[l] for l, _ in train], 0.1, derive_seed(args.seed, "data/validation"))
    docs = {i: tokens(train[i][1], args.tokenizer) for i in range(len(train))}
    index = vocab([docs[i] for i in kept], args.max_vocab)

    def tensors(rows, idx_docs):
        x = torch.tensor([encode(d, index, args.max_len) for d in idx_docs], dtype=torch.long)
        y = torch.tensor([label_of[l] for l, _ in rows], dtype=torch.long)
        return x, y

    xt, yt = tensors([train[i] for i in kept], [docs[i] for i in kept])
    xv, yv = tensors([train[i] for i in held], [docs[i] for i in held])
    xs, ys = tensors(test, [tokens(t, args.tokenizer) for _, t in test])

    class Bag(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.EmbeddingBag(len(index) + 2, args.dim, mode="mean", padding_idx=0, sparse=sparse_table)
            self.output = nn.Linear(args.dim, len(classes))

        def forward(self, x):
            return self.output(self.embedding(x))

    model = Bag()
    # OWM's default init plan: Kaiming-uniform with gain √2 on the fan-in (a table's rows, a linear layer's
    # inputs), zero biases.
    with torch.no_grad():
        for w in (model.embedding.weight, model.output.weight):
            fan_in = w.shape[0] if w is model.embedding.weight else w.shape[1]
            w.uniform_(-(6 / fan_in) ** 0.5, (6 / fan_in) ** 0.5)
        model.output.bias.zero_()
    if sparse_table:
        optimisers = [torch.optim.SparseAdam(list(model.embedding.parameters()), lr=1e-3), torch.optim.Adam(list(model.output.parameters()), lr=1e-3)]
    else:
        optimisers = [torch.optim.Adam(list(model.parameters()), lr=1e-3)]
    loss_fn = nn.CrossEntropyLoss()

    def evaluate(x, y):
        model.eval()
        with torch.no_grad():
            logits = torch.cat([model(x[i : i + 2048]) for i in range(0, len(x), 2048)])
        model.train()
        return loss_fn(logits, y).item(), logits.argmax(1).tolist()

    started = time.time()
    best, best_state, since, epochs, stepping = float("inf"), None, 0, 0, 0.0
    for epoch in range(1, (args.speed or 200) + 1):
        perm = torch.randperm(len(xt))
        epoch_started = time.time()
        for i in range(0, len(xt), args.batch):
            b = perm[i : i + args.batch]
            for o in optimisers:
                o.zero_grad()
            loss_fn(model(xt[b]), yt[b]).backward()
            for o in optimisers:
                o.step()
        stepping += time.time() - epoch_started
        if args.speed:
            epochs = epoch
            continue
        val_loss, _ = evaluate(xv, yv)
        epochs = epoch
        if val_loss < best:
            best, since, best_state = val_loss, 0, {k: v.clone() for k, v in model.state_dict().items()}
        else:
            since += 1
            if since >= 10:
                break
    if args.speed:
        return {"table": "sparse" if sparse_table else "dense", "epochs": epochs, "seconds_per_epoch": round(stepping / epochs, 3), "vocab": len(index) + 2}
    model.load_state_dict(best_state)
    seconds = time.time() - started
    _, pred = evaluate(xs, ys)
    gold = ys.tolist()
    return {
        "epochs": epochs,
        "train_seconds": round(seconds, 1),
        "accuracy": sum(p == g for p, g in zip(pred, gold)) / len(gold),
        "macro_f1": macro_f1(pred, gold, len(classes)),
        "vocab": len(index) + 2,
    }


def owm_run(binary, train_path, test_path, args, out_dir):
    cmd = [binary, "train", "--task", "text", "--data", train_path, "--test-data", test_path, "--tokenizer", args.tokenizer,
           "--max-len", str(args.max_len), "--max-vocab", str(args.max_vocab), "--seed", str(args.seed), "--out", out_dir,
           "--checkpoint-every", "0"]
    if args.speed:
        cmd += ["--epochs", str(args.speed), "--early-stopping", "off", "--json", "--quiet"]
    started = time.time()
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"owm failed: {done.stderr[-2000:]}")
    seconds = time.time() - started
    if args.speed:
        summary = json.loads(done.stdout.strip().splitlines()[-1])
        return {"table": "lazy", "epochs": summary["epochs"], "seconds_per_epoch": round(summary["train_seconds"] / summary["epochs"], 3)}
    with open(os.path.join(out_dir, "evaluation.json")) as f:
        ev = json.load(f)
    report = ev.get("report", ev)
    return {"command": " ".join(cmd), "seconds": round(seconds, 1), "accuracy": report["accuracy"], "macro_f1": report["macro_f1"]}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("owm")
    p.add_argument("out")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--tokenizer", default="chars+char-bigrams+jieba", help="pieces joined by `+`: chars, char-bigrams, jieba")
    p.add_argument("--max-len", type=int, default=128)
    p.add_argument("--max-vocab", type=int, default=1000000)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--skip-owm", action="store_true")
    p.add_argument("--speed", type=int, default=0, metavar="EPOCHS", help="time EPOCHS epochs of training steps instead (no early stopping)")
    args = p.parse_args()

    rows = read(os.path.join(datasets_dir(), "thucnews", "thucnews_train_10w.txt"))
    classes = sorted({l for l, _ in rows})
    label_of = {c: i for i, c in enumerate(classes)}
    train_idx, test_idx = stratified_split([label_of[l] for l, _ in rows], 0.1, args.seed)
    train, test = [rows[i] for i in train_idx], [rows[i] for i in test_idx]
    result = {"split": {"seed": args.seed, "train": len(train), "test": len(test)}, "tokenizer": args.tokenizer}
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for side, part in (("train", train), ("test", test)):
            paths[side] = os.path.join(tmp, f"thucnews_{side}.txt")
            with open(paths[side], "w", encoding="utf-8") as f:
                f.writelines(f"{l}\t{t}\n" for l, t in part)
        if not args.skip_owm:
            result["owm"] = owm_run(args.owm, paths["train"], paths["test"], args, os.path.join(tmp, "run"))
            print("owm", result["owm"], flush=True)
        result["pytorch"] = torch_run(train, test, classes, args)
        print("pytorch", result["pytorch"], flush=True)
        if args.speed:
            result["pytorch_dense"] = torch_run(train, test, classes, args, sparse_table=False)
            print("pytorch_dense", result["pytorch_dense"], flush=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
