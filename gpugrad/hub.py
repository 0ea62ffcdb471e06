"""``gpugrad.hub``: downloading checkpoints into PyTorch's hub cache and loading them.

The cache is PyTorch's: ``$TORCH_HOME/hub`` (``TORCH_HOME`` defaults to
``$XDG_CACHE_HOME/torch``, that to ``~/.cache``), checkpoints under ``<hub dir>/checkpoints``;
a file PyTorch already downloaded there is reused. Downloads go through ``urllib``.
``load``/``list``/``help``, which import and run a GitHub repository's ``hubconf.py``, are not
provided: gpugrad runs no code it downloads.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
import uuid
import warnings
import zipfile
from urllib.parse import urlparse
from urllib.request import Request, urlopen

from .serialization import load as _load

__all__ = ["get_dir", "set_dir", "download_url_to_file", "load_state_dict_from_url", "load",
           "list", "help"]

ENV_TORCH_HOME = "TORCH_HOME"
ENV_XDG_CACHE_HOME = "XDG_CACHE_HOME"
DEFAULT_CACHE_DIR = "~/.cache"
# checkpoint file names carry the first digits of their SHA-256: ``resnet18-5c106cde.pth``
HASH_REGEX = re.compile(r"-([a-f0-9]*)\.")
_CHUNK = 128 * 1024

_hub_dir: str | None = None


def _torch_home() -> str:
    default = os.path.join(os.getenv(ENV_XDG_CACHE_HOME, DEFAULT_CACHE_DIR), "torch")
    return os.path.expanduser(os.getenv(ENV_TORCH_HOME, default))


def get_dir() -> str:
    """The hub cache directory: what ``set_dir`` set, else ``$TORCH_HOME/hub``."""
    if os.getenv("TORCH_HUB"):
        warnings.warn("TORCH_HUB is deprecated, please use env TORCH_HOME instead",
                      stacklevel=2)
    if _hub_dir is not None:
        return _hub_dir
    return os.path.join(_torch_home(), "hub")


def set_dir(d: str | os.PathLike) -> None:
    """Use ``d`` as the hub cache directory (``~`` expanded)."""
    global _hub_dir
    _hub_dir = os.path.expanduser(d)


def _show_progress(done: int, total: int | None) -> None:
    if total:
        sys.stderr.write(f"\r{done / 1024:.0f}k / {total / 1024:.0f}k "
                         f"({100 * done // total}%)")
    else:
        sys.stderr.write(f"\r{done / 1024:.0f}k")
    sys.stderr.flush()


def download_url_to_file(url: str, dst: str, hash_prefix: str | None = None,
                         progress: bool = True) -> None:
    """Download ``url`` to the path ``dst``.

    The data is written to a temporary file beside ``dst`` and moved there once complete.
    With ``hash_prefix``, the file's SHA-256 hex digest must start with it (else RuntimeError
    and nothing is written). ``progress`` shows the bytes received on stderr.
    """
    dst = os.path.expanduser(dst)
    partial = f"{dst}.{uuid.uuid4().hex}.partial"
    request = Request(url, headers={"User-Agent": "gpugrad.hub"})
    try:
        with urlopen(request) as response, open(partial, "xb") as out:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            sha256 = hashlib.sha256() if hash_prefix is not None else None
            done = 0
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                if sha256 is not None:
                    sha256.update(chunk)
                done += len(chunk)
                if progress:
                    _show_progress(done, total)
            if progress:
                sys.stderr.write("\n")
        if sha256 is not None:
            digest = sha256.hexdigest()
            if not digest.startswith(hash_prefix):
                raise RuntimeError(f'invalid hash value (expected "{hash_prefix}", got '
                                   f'"{digest}")')
        shutil.move(partial, dst)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def _single_file_zip(path: str) -> bool:
    """PyTorch's hub also serves a checkpoint zipped alone in an archive."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as zf:
        members = zf.infolist()
    # (gpugrad's own archive of tensor-free data is one member too: its manifest)
    return len(members) == 1 and not members[0].is_dir() and \
        members[0].filename != "__manifest__.npy"


def _extract_single(path: str, model_dir: str) -> str:
    with zipfile.ZipFile(path) as zf:
        member = zf.infolist()[0]
        name = os.path.basename(member.filename)  # never outside model_dir
        if not name:
            raise RuntimeError(f"{path}: its one member has no file name")
        target = os.path.join(model_dir, name)
        with zf.open(member) as src, open(target, "wb") as out:
            shutil.copyfileobj(src, out)
    return target


def load_state_dict_from_url(url: str, model_dir: str | None = None, map_location=None,
                             progress: bool = True, check_hash: bool = False,
                             file_name: str | None = None, weights_only: bool = False):
    """Download the checkpoint at ``url`` into ``model_dir`` (default ``<hub dir>/checkpoints``)
    unless it is already there, and ``gpugrad.load`` it.

    ``file_name`` names the cached file (default: the URL's last path segment). With
    ``check_hash``, that name's ``-<hex digits>.`` part must begin the file's SHA-256.
    ``map_location`` is ``gpugrad.load``'s; loading never runs code from the file, whatever
    ``weights_only`` says (see ``gpugrad.load``).
    """
    if os.getenv("TORCH_MODEL_ZOO"):
        warnings.warn("TORCH_MODEL_ZOO is deprecated, please use env TORCH_HOME instead",
                      stacklevel=2)
    if model_dir is None:
        model_dir = os.path.join(get_dir(), "checkpoints")
    os.makedirs(model_dir, exist_ok=True)
    filename = file_name if file_name is not None else os.path.basename(urlparse(url).path)
    cached_file = os.path.join(model_dir, filename)
    if not os.path.exists(cached_file):
        sys.stdout.write(f'Downloading: "{url}" to {cached_file}\n')
        hash_prefix = None
        if check_hash:
            match = HASH_REGEX.search(filename)
            hash_prefix = match.group(1) if match else None
        download_url_to_file(url, cached_file, hash_prefix, progress=progress)
    if _single_file_zip(cached_file):
        cached_file = _extract_single(cached_file, model_dir)
    return _load(cached_file, map_location=map_location, weights_only=weights_only)


def _runs_repository_code(name: str):
    def refuse(*args, **kwargs):
        raise NotImplementedError(
            f"gpugrad.hub.{name} is not supported: it imports and runs a repository's "
            "hubconf.py, and gpugrad runs no downloaded code. Build the model with gpugrad "
            "and load its weights with gpugrad.hub.load_state_dict_from_url or gpugrad.load")

    refuse.__name__ = refuse.__qualname__ = name
    refuse.__doc__ = f"Not supported: ``torch.hub.{name}`` runs code from a GitHub repository."
    return refuse


load = _runs_repository_code("load")
list = _runs_repository_code("list")  # noqa: A001 - PyTorch's name
help = _runs_repository_code("help")  # noqa: A001 - PyTorch's name
