#!/usr/bin/env python3
"""MovieLens 100K as click-through: OWM's default beside a PyTorch matrix factorisation, on the same split.

    python3 tools/movielens_torch.py OWM_BINARY OUT.json [--seed 42]

Both sides read RecBole's `ml-100k.inter` (`tools/fetch_datasets.py movielens-100k`): a rating of 4 or more is a
click, 1 to 3 an explicit non-click; each user's latest 20% of ratings (by timestamp, then file order) are the
test rows (OWM's `chronological_split`, ported here), and the latest tenth of each user's other ratings is the
validation split. OWM runs `owm train --task recsys --click-threshold 4 --chronological
--negatives 0 --batch-size 256` with its defaults otherwise (matrix factorisation of 16, Adam at 1e-3, lazy for
the tables, early stopping on the validation loss with patience 10 within 200 epochs, ending on the best epoch).

The reference is the same model in PyTorch: biased matrix factorisation `<u, i> + b_u + b_i + b` of width 16
(initialised as OWM's default plan does: Kaiming-uniform, gain √2, on each table's rows; the global bias 0),
binary cross-entropy on
the logit, dense `torch.optim.Adam` at 1e-3, batch 256, the same early stopping. The popularity baseline scores
a pair by its item's training clicks. Reported for each: ROC AUC, log loss, accuracy at 0.5 and NDCG@10 over the
users with both a click and a non-click among their test rows (ties sharing their gains, as `owm_eval::ranking`). Writes OUT.json.

`--speed EPOCHS` times the training loops instead (`cargo xtask bench` runs it): both sides train exactly EPOCHS
epochs without early stopping, OWM with its lazy tables and PyTorch with the dense tables and Adam above; each
reports the seconds of its training steps per epoch (validation passes left out of PyTorch's, kept in OWM's).
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fetch_datasets import datasets_dir  # noqa: E402


def read(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        next(f)
        for line in f:
            if line.strip():
                u, i, r, t = line.rstrip("\n").split("\t")
                rows.append((u, i, float(r), float(t)))
    return rows


def chronological_split(rows, users, fraction, subset=None):
    """Each user's latest `fraction` of their rows in `subset` (default: all) held out, as OWM's `split_latest`."""
    by_user = {}
    for k in range(len(rows)) if subset is None else subset:
        by_user.setdefault(users[rows[k][0]], []).append(k)
    train, test = [], []
    for u in sorted(by_user):
        ks = sorted(by_user[u], key=lambda k: (rows[k][3], k))
        n_test = 0 if len(ks) < 2 else min(max(int(len(ks) * fraction + 0.5), 1), len(ks) - 1)
        train += ks[: len(ks) - n_test]
        test += ks[len(ks) - n_test :]
    return sorted(train), sorted(test)


def roc_auc(y, p):
    order = sorted(range(len(p)), key=lambda k: p[k])
    ranks = [0.0] * len(p)
    k = 0
    while k < len(order):
        j = k
        while j + 1 < len(order) and p[order[j + 1]] == p[order[k]]:
            j += 1
        for m in range(k, j + 1):
            ranks[order[m]] = (k + j) / 2 + 1
        k = j + 1
    pos = sum(y)
    neg = len(y) - pos
    return (sum(r for r, t in zip(ranks, y) if t) - pos * (pos + 1) / 2) / (pos * neg)


def ndcg10(groups):
    total, users = 0.0, 0
    for rel, sc in groups.values():
        if sum(rel) == 0 or all(rel):
            continue
        order = sorted(range(len(sc)), key=lambda k: -sc[k])
        disc = lambda i: 1 / math.log2(i + 2) if i < 10 else 0.0
        dcg, s = 0.0, 0
        while s < len(order):
            e = s
            while e + 1 < len(order) and sc[order[e + 1]] == sc[order[s]]:
                e += 1
            gain = sum(rel[order[m]] for m in range(s, e + 1)) / (e - s + 1)
            dcg += gain * sum(disc(m) for m in range(s, e + 1))
            s = e + 1
        ideal = sum(disc(m) * g for m, g in enumerate(sorted(rel, reverse=True)))
        total += dcg / ideal
        users += 1
    return total / users, users


def metrics(y, p, users_of):
    eps = 1e-12
    groups = {}
    for u, t, s in zip(users_of, y, p):
        groups.setdefault(u, ([], []))
        groups[u][0].append(t)
        groups[u][1].append(s)
    ndcg, n = ndcg10(groups)
    return {
        "roc_auc": roc_auc(y, p),
        "log_loss": -sum(t * math.log(max(s, eps)) + (1 - t) * math.log(max(1 - s, eps)) for t, s in zip(y, p)) / len(y),
        "accuracy": sum((s >= 0.5) == bool(t) for t, s in zip(y, p)) / len(y),
        "ndcg@10": ndcg,
        "ranked_users": n,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("owm")
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--skip-owm", action="store_true")
    ap.add_argument("--speed", type=int, default=0, metavar="EPOCHS", help="time EPOCHS epochs of training steps instead (no early stopping)")
    args = ap.parse_args()
    path = os.path.join(datasets_dir(), "movielens-100k", "ml-100k.inter")
    rows = read(path)
    users, items = {}, {}
    for u, i, _, _ in rows:
        users.setdefault(u, len(users))
        items.setdefault(i, len(items))
    label = [1 if r >= 4 else 0 for _, _, r, _ in rows]
    train, test = chronological_split(rows, users, 0.2)
    fit, val = chronological_split(rows, users, 0.1, train)
    result = {"split": {"train": len(fit), "validation": len(val), "test": len(test)}}

    if not args.skip_owm:
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [args.owm, "train", "--task", "recsys", "--data", path, "--click-threshold", "4", "--chronological", "--negatives", "0",
                   "--batch-size", "256", "--seed", str(args.seed), "--out", os.path.join(tmp, "run")]
            if args.speed:
                cmd += ["--epochs", str(args.speed), "--early-stopping", "off", "--json", "--quiet"]
            started = time.time()
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode != 0:
                sys.exit(f"owm failed: {done.stderr[-2000:]}")
            if args.speed:
                summary = json.loads(done.stdout.strip().splitlines()[-1])
                result["owm"] = {"table": "lazy", "epochs": summary["epochs"], "seconds_per_epoch": round(summary["train_seconds"] / summary["epochs"], 4)}
                print("owm", result["owm"], flush=True)
            else:
                with open(os.path.join(tmp, "run", "evaluation.json")) as f:
                    ev = json.load(f)
                result["owm"] = {"command": " ".join(cmd[1:]), "seconds": round(time.time() - started, 1), "evaluation": ev}
                print("owm", done.stdout.strip().splitlines()[-4:], flush=True)

    import torch
    from torch import nn

    torch.set_num_threads(2)
    torch.manual_seed(args.seed)
    ids = lambda ks: (torch.tensor([users[rows[k][0]] for k in ks]), torch.tensor([items[rows[k][1]] for k in ks]), torch.tensor([float(label[k]) for k in ks]))

    class Mf(nn.Module):
        def __init__(self):
            super().__init__()
            self.users, self.items = nn.Embedding(len(users), 16), nn.Embedding(len(items), 16)
            self.user_bias, self.item_bias = nn.Embedding(len(users), 1), nn.Embedding(len(items), 1)
            self.bias = nn.Parameter(torch.zeros(1))

        def forward(self, u, i):
            dot = (self.users(u) * self.items(i)).sum(1)
            return dot + self.user_bias(u).squeeze(1) + self.item_bias(i).squeeze(1) + self.bias

    model = Mf()
    # OWM's default init plan: Kaiming-uniform with gain √2 on each table's fan-in (its rows); the global bias 0.
    with torch.no_grad():
        for t in (model.users, model.items, model.user_bias, model.item_bias):
            t.weight.uniform_(-(6 / t.weight.shape[0]) ** 0.5, (6 / t.weight.shape[0]) ** 0.5)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.BCEWithLogitsLoss()
    (tu, ti, ty), (vu, vi, vy), (su, si, sy) = ids(fit), ids(val), ids(test)
    started = time.time()
    best, best_state, since, epochs, stepping = float("inf"), None, 0, 0, 0.0
    for epoch in range(1, (args.speed or 200) + 1):
        perm = torch.randperm(len(ty))
        epoch_started = time.time()
        for s in range(0, len(ty), 256):
            b = perm[s : s + 256]
            opt.zero_grad()
            loss_fn(model(tu[b], ti[b]), ty[b]).backward()
            opt.step()
        stepping += time.time() - epoch_started
        if args.speed:
            epochs = epoch
            continue
        with torch.no_grad():
            v = loss_fn(model(vu, vi), vy).item()
        epochs = epoch
        if v < best:
            best, since, best_state = v, 0, {k: t.clone() for k, t in model.state_dict().items()}
        else:
            since += 1
            if since >= 10:
                break
    if args.speed:
        result["pytorch"] = {"table": "dense", "epochs": epochs, "seconds_per_epoch": round(stepping / epochs, 4)}
        print("pytorch", result["pytorch"], flush=True)
        with open(args.out, "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")
        return
    model.load_state_dict(best_state)
    with torch.no_grad():
        p = torch.sigmoid(model(su, si)).tolist()
    y = [int(t) for t in sy.tolist()]
    test_users = [users[rows[k][0]] for k in test]
    result["pytorch"] = {"epochs": epochs, "train_seconds": round(time.time() - started, 1), **metrics(y, p, test_users)}
    clicks = {}
    for k in train:
        clicks[items[rows[k][1]]] = clicks.get(items[rows[k][1]], 0) + label[k]
    pop = [clicks.get(items[rows[k][1]], 0) for k in test]
    top = max(pop)
    result["popularity"] = {k: v for k, v in metrics(y, [c / (top + 1) for c in pop], test_users).items() if k in ("roc_auc", "ndcg@10", "ranked_users")}
    print("pytorch", result["pytorch"], "\npopularity", result["popularity"], flush=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
