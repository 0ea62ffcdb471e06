"""``gpugrad.hub``: the cache layout, downloads from a local HTTP server, and loading, compared
with ``torch.hub`` on the same server."""

from __future__ import annotations

import functools
import hashlib
import http.server
import threading
import zipfile

import numpy as np
import pytest
import torch

import gpugrad
from gpugrad import hub, nn


class _Handler(http.server.SimpleHTTPRequestHandler):
    requests: list = []

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):
        type(self).requests.append(self.path)
        super().do_GET()


@pytest.fixture
def server(tmp_path):
    """A local HTTP server for a folder: (folder, base URL, the paths requested)."""
    served = tmp_path / "served"
    served.mkdir()
    handler = type("Handler", (_Handler,), {"requests": []})
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(served)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield served, f"http://127.0.0.1:{httpd.server_address[1]}", handler.requests
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh TORCH_HOME, no set_dir in effect for gpugrad or torch."""
    monkeypatch.setattr(hub, "_hub_dir", None)
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    return tmp_path / "torch_home"


def test_cache_directories_follow_torch(tmp_path, monkeypatch, home):
    assert hub.get_dir() == torch.hub.get_dir() == str(home / "hub")
    monkeypatch.delenv("TORCH_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert hub.get_dir() == torch.hub.get_dir() == str(tmp_path / "xdg" / "torch" / "hub")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert hub.get_dir() == torch.hub.get_dir()
    hub.set_dir("~/elsewhere")
    torch.hub.set_dir("~/elsewhere")
    assert hub.get_dir() == torch.hub.get_dir() and not hub.get_dir().startswith("~")


def test_download_url_to_file(server, tmp_path, capsys):
    served, base, requests = server
    payload = np.random.default_rng(0).bytes(300_000)
    (served / "blob.bin").write_bytes(payload)
    digest = hashlib.sha256(payload).hexdigest()
    dst = tmp_path / "blob.bin"
    hub.download_url_to_file(f"{base}/blob.bin", str(dst), hash_prefix=digest[:10])
    assert dst.read_bytes() == payload
    assert "293k / 293k (100%)" in capsys.readouterr().err
    quiet = tmp_path / "quiet.bin"
    hub.download_url_to_file(f"{base}/blob.bin", str(quiet), progress=False)
    assert quiet.read_bytes() == payload and capsys.readouterr().err == ""
    with pytest.raises(RuntimeError, match="invalid hash value"):
        hub.download_url_to_file(f"{base}/blob.bin", str(tmp_path / "bad.bin"), "0000")
    assert not (tmp_path / "bad.bin").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blob.bin", "quiet.bin", "served"]
    local = tmp_path / "copy.bin"  # file:// URLs work too
    hub.download_url_to_file(dst.as_uri(), str(local), progress=False)
    assert local.read_bytes() == payload
    import urllib.error

    with pytest.raises(urllib.error.HTTPError):
        hub.download_url_to_file(f"{base}/missing.bin", str(tmp_path / "m.bin"))


def _serve_checkpoint(served, name_stem="linear"):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    tmp = served / "tmp.pt"
    torch.save(model.state_dict(), tmp)
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
    name = f"{name_stem}-{digest[:8]}.pt"
    tmp.rename(served / name)
    return model, name


def test_load_state_dict_from_url_matches_torch_hub(server, home, tmp_path):
    served, base, requests = server
    model, name = _serve_checkpoint(served)
    url = f"{base}/{name}"
    ours = hub.load_state_dict_from_url(url, check_hash=True, progress=False)
    assert (home / "hub" / "checkpoints" / name).is_file()  # torch's cache layout
    theirs = torch.hub.load_state_dict_from_url(url, model_dir=str(tmp_path / "torch_cache"),
                                                check_hash=True, progress=False)
    assert list(ours) == list(theirs)
    for key in theirs:
        np.testing.assert_array_equal(ours[key].numpy(), theirs[key].numpy())
    assert len(requests) == 2
    again = hub.load_state_dict_from_url(url)  # cached: no new request
    assert len(requests) == 2 and list(again) == list(ours)
    gm = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)).eval()
    gm.load_state_dict(again)
    x = np.random.default_rng(1).standard_normal((2, 3)).astype(np.float32)
    with torch.no_grad():
        expected = model.eval()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(gm(gpugrad.tensor(x)).detach().numpy(), expected, rtol=1e-6)


def test_load_state_dict_from_url_options(server, tmp_path):
    served, base, requests = server
    _, name = _serve_checkpoint(served)
    model_dir = tmp_path / "models"
    state = hub.load_state_dict_from_url(f"{base}/{name}", model_dir=str(model_dir),
                                         file_name="renamed.pt", map_location="cpu",
                                         progress=False)
    assert (model_dir / "renamed.pt").is_file() and state["0.weight"].shape == (4, 3)
    wrong = name.replace(name.split("-")[1][:8], "00000000")
    (served / wrong).write_bytes((served / name).read_bytes())
    with pytest.raises(RuntimeError, match="invalid hash value"):
        hub.load_state_dict_from_url(f"{base}/{wrong}", model_dir=str(model_dir),
                                     check_hash=True, progress=False)
    assert not (model_dir / wrong).exists()


def test_a_checkpoint_zipped_alone_is_extracted(server, tmp_path):
    served, base, _ = server
    _, name = _serve_checkpoint(served)
    with zipfile.ZipFile(served / "zipped.zip", "w") as zf:
        zf.write(served / name, arcname=name)
    model_dir = tmp_path / "models"
    state = hub.load_state_dict_from_url(f"{base}/zipped.zip", model_dir=str(model_dir),
                                         progress=False)
    assert (model_dir / name).is_file() and "1.running_mean" in state


def test_gpugrad_archives_without_tensors_are_not_taken_for_zipped_files(tmp_path):
    path = tmp_path / "config.pt"
    gpugrad.save({"epochs": 3}, path)
    state = hub.load_state_dict_from_url(path.as_uri(), model_dir=str(tmp_path / "m"),
                                         progress=False)
    assert state == {"epochs": 3}


@pytest.mark.parametrize("name", ["load", "list", "help"])
def test_running_repository_code_is_not_supported(name):
    with pytest.raises(NotImplementedError, match="runs no downloaded code"):
        getattr(gpugrad.hub, name)("pytorch/vision", "resnet18")
