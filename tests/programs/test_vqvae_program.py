"""The VQ-VAE of ``vqvae.py``, run with gpugrad and with PyTorch: both learn to reconstruct the
made-up images through either quantiser, and with one set of weights, in float64, the two
libraries compute the same quantiser (codes, straight-through gradients, losses, perplexity), the
same alternative lookups and the same training steps (EMA buffers and codebook included)."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
import torch

import gpugrad

from ._compare import both, load

VQ = load("vqvae")
LIBS = (gpugrad, torch)


@pytest.mark.parametrize("variant", VQ.VARIANTS)
def test_vqvae_learns(variant):
    """Reconstruction well below its start and below the mean image's score (1.0), several
    codes in use; the two lookups agree; gpugrad lands near PyTorch (different random streams:
    convergence is compared, not bits)."""
    ours, theirs = both(lambda m: VQ.main(m, variant))
    for result in (ours, theirs):
        assert result["final_recon"] < 0.5 * result["initial_recon"], result
        assert result["final_recon"] < 0.8 and result["train_final"] < 0.8, result
        assert result["codes_used"] >= 4 and result["perplexity"] > 2, result
        assert result["unique_codes"] == result["codes_used"] and result["counts_agree"], result
        assert result["same_indices"] == 1.0 and result["lookup_gap"] < 1e-5, result
    assert ours["ema_buffers"] == theirs["ema_buffers"]
    expected = ["_vq_vae._ema_cluster_size", "_vq_vae._initted"] if variant == "ema" else []
    assert theirs["ema_buffers"] == expected
    assert abs(ours["final_recon"] - theirs["final_recon"]) <= 0.5 * theirs["final_recon"] + 0.05
    assert ours["perplexity"] > 0.4 * theirs["perplexity"], (ours, theirs)


@contextlib.contextmanager
def default_float64():
    """Both libraries' default dtype float64: the public quantiser's ``torch.zeros(N, K)`` and
    ``torch.Tensor(K, D)`` take it."""
    saved = [lib.get_default_dtype() for lib in LIBS]
    for lib in LIBS:
        lib.set_default_dtype(lib.float64)
    try:
        yield
    finally:
        for lib, dtype in zip(LIBS, saved):
            lib.set_default_dtype(dtype)


@pytest.fixture
def float64():
    with default_float64():
        yield


def numpy_of(t):
    return t.detach().cpu().numpy()


def batch(n, seed):
    return VQ.images(n, seed)[0].astype(np.float64)


def twin_models(variant):
    """The VQ-VAE built by gpugrad and by PyTorch (float64), PyTorch's loaded with gpugrad's
    state (buffers included). Both first take their codes from a batch: the EMA variant through
    one training forward of gpugrad's model (which also makes one EMA update), the codebook
    variant by a copy into ``weight.data``."""
    gpugrad.manual_seed(0)
    ours = VQ.build(gpugrad, variant)
    torch.manual_seed(0)
    theirs = VQ.build(torch, variant)
    first = gpugrad.from_numpy(batch(16, seed=11))
    if variant == "ema":
        ours.train()
        with gpugrad.no_grad():
            ours(first)
        assert bool(ours._vq_vae._initted)
    else:
        # codes spread over the encoder's output (the fresh U(-1/K, 1/K) codebook is a dot
        # beside it, which every latent maps to the same code)
        with gpugrad.no_grad():
            z = ours.encode(first).permute(0, 2, 3, 1).reshape(-1, 2)
            ours._vq_vae._embedding.weight.data.copy_(z[::16] + 0.01)
    our_state, their_state = ours.state_dict(), theirs.state_dict()
    assert list(our_state) == list(their_state)
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    for key, value in our_state.items():
        assert str(value.dtype).split(".")[-1] == str(their_state[key].dtype).split(".")[-1], key
    theirs.load_state_dict({k: torch.from_numpy(numpy_of(v).copy()) for k, v in our_state.items()})
    return ours, theirs


def close(a, b, tol=1e-10, name=""):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, (name, a.shape, b.shape)
    scale = max(np.abs(b).max() if b.size else 0.0, 1e-300)
    np.testing.assert_allclose(a, b, rtol=0, atol=tol * scale, err_msg=name)


@pytest.mark.parametrize("variant", VQ.VARIANTS)
def test_same_weights_same_quantiser_and_gradients(variant, float64):
    """One training forward and backward: the codes, quantised latents, the quantiser's loss,
    perplexity, reconstruction, total loss, the gradient reaching the encoder's output through
    the straight-through estimator and every parameter's gradient agree to ~1e-10."""
    ours, theirs = twin_models(variant)
    x = batch(8, seed=3)
    variance = float(np.var(x))
    runs = []
    for lib, model in ((gpugrad, ours), (torch, theirs)):
        model.train()
        X = lib.from_numpy(x)
        z = model.encode(X)
        z.retain_grad()
        vq_loss, quantized, perplexity, encodings = model._vq_vae(z)
        recon = model._decoder(quantized)
        total = lib.nn.functional.mse_loss(recon, X) / variance + vq_loss
        total.backward()
        grads = {n: None if p.grad is None else numpy_of(p.grad)
                 for n, p in model.named_parameters()}
        runs.append({"encodings": numpy_of(encodings), "quantized": numpy_of(quantized),
                     "vq_loss": vq_loss.item(), "perplexity": perplexity.item(),
                     "recon": numpy_of(recon), "total": total.item(), "z_grad": numpy_of(z.grad),
                     "grads": grads, "dtype": str(quantized.dtype).split(".")[-1],
                     "state": {k: numpy_of(v) for k, v in model.state_dict().items()}})
    ours_run, theirs_run = runs
    assert ours_run["dtype"] == theirs_run["dtype"] == "float64"
    np.testing.assert_array_equal(ours_run["encodings"], theirs_run["encodings"])
    assert ours_run["encodings"].sum() == len(ours_run["encodings"]) == 8 * 4 * 4
    assert len(np.unique(theirs_run["encodings"].argmax(1))) > 1
    for key in ("quantized", "vq_loss", "perplexity", "recon", "total", "z_grad"):
        close(ours_run[key], theirs_run[key], name=key)
    assert [g is None for g in ours_run["grads"].values()] == \
        [g is None for g in theirs_run["grads"].values()]
    for name, g_theirs in theirs_run["grads"].items():
        if g_theirs is not None:
            close(ours_run["grads"][name], g_theirs, name=name)
    # the EMA forward in training mode moved the buffers and codebook the same way
    for key, value in theirs_run["state"].items():
        close(ours_run["state"][key], value, name=key)


@pytest.mark.parametrize("variant", VQ.VARIANTS)
def test_same_weights_same_alternative_lookup(variant, float64):
    """``cdist`` + ``argmin``, ``F.embedding``, ``bincount`` and ``unique(return_counts=True)`` in
    eval mode, under ``no_grad``: the same distances, codes and counts in both libraries."""
    ours, theirs = twin_models(variant)
    x = batch(8, seed=4)
    runs = []
    for lib, model in ((gpugrad, ours), (torch, theirs)):
        model.eval()
        with lib.no_grad():
            z = model.encode(lib.from_numpy(x))
            _, quantized, perplexity, encodings = model._vq_vae(z)
            flat = z.permute(0, 2, 3, 1).reshape(-1, z.shape[1])
            weight = model._vq_vae._embedding.weight
            distances = lib.cdist(flat, weight)
            indices = distances.argmin(dim=1)
            looked_up = lib.nn.functional.embedding(indices, weight)
            counts = lib.bincount(indices, minlength=weight.shape[0])
            used, used_counts = lib.unique(indices, return_counts=True)
        runs.append([numpy_of(t) for t in (distances, indices, looked_up, counts, used,
                                           used_counts, encodings.argmax(dim=1), quantized)])
    for name, a, b in zip(("cdist", "indices", "embedding", "bincount", "unique", "counts",
                           "model indices", "quantized"), *runs):
        assert a.dtype == b.dtype, (name, a.dtype, b.dtype)
        if a.dtype.kind == "f":
            close(a, b, name=name)
        else:
            np.testing.assert_array_equal(a, b, err_msg=name)
    indices, looked_up, quantized = runs[1][1], runs[1][2], runs[1][7]
    np.testing.assert_array_equal(indices, runs[1][6])  # cdist agrees with the expansion
    np.testing.assert_allclose(looked_up, quantized.transpose(0, 2, 3, 1).reshape(-1, 2),
                               rtol=0, atol=1e-12)


@pytest.mark.parametrize("variant", VQ.VARIANTS)
def test_same_weights_same_training_steps(variant, float64):
    """Five Adam steps on the same batches: losses, perplexities and the whole state (for the
    EMA variant the cluster sizes, the summed vectors and the codebook) stay together."""
    ours, theirs = twin_models(variant)
    data = batch(64, seed=5)
    variance = float(np.var(data))
    rng = np.random.default_rng(6)
    batches = [rng.choice(64, 16, replace=False) for _ in range(5)]
    runs = []
    for lib, model in ((gpugrad, ours), (torch, theirs)):
        optimizer = lib.optim.Adam(model.parameters(), lr=1e-3, amsgrad=False)
        X = lib.from_numpy(data)
        model.train()
        losses, perplexities = [], []
        for index in batches:
            x = X[lib.from_numpy(index)]
            optimizer.zero_grad()
            vq_loss, recon, perplexity = model(x)
            loss = lib.nn.functional.mse_loss(recon, x) / variance + vq_loss
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            perplexities.append(perplexity.item())
        runs.append((losses, perplexities, {k: numpy_of(v) for k, v in model.state_dict().items()},
                     [n for n, _ in model.named_buffers()]))
    (l_ours, p_ours, s_ours, b_ours), (l_theirs, p_theirs, s_theirs, b_theirs) = runs
    np.testing.assert_allclose(l_ours, l_theirs, rtol=1e-10)
    np.testing.assert_allclose(p_ours, p_theirs, rtol=1e-10)
    assert b_ours == b_theirs
    assert list(s_ours) == list(s_theirs)
    for key, value in s_theirs.items():
        close(s_ours[key], value, tol=1e-9, name=key)
    if variant == "ema":
        vq = theirs._vq_vae
        assert "_vq_vae._ema_w" in s_theirs and not vq._ema_w.requires_grad
        assert isinstance(vq._ema_w, torch.nn.Parameter)
        assert isinstance(ours._vq_vae._ema_w, gpugrad.nn.Parameter)
        assert not ours._vq_vae._ema_w.requires_grad
        # the codebook is the smoothed average the buffers describe
        np.testing.assert_allclose(
            s_theirs["_vq_vae._embedding.weight"],
            s_theirs["_vq_vae._ema_w"] / s_theirs["_vq_vae._ema_cluster_size"][:, None],
            rtol=1e-12)


def test_codebook_refresh_through_data_between_forward_and_backward():
    """The EMA idiom ``embedding.weight.data.copy_(...)`` run after a forward whose graph saved
    the codebook (here the public distance expansion, with the distance to the nearest code as
    the commitment term) and before ``backward()``. In PyTorch ``.data`` is a fresh alias with its
    own version counter: the write is invisible to autograd's in-place check and backward reads
    the new values where it saved the codebook (``weight ** 2``, ``weight.t()``)."""
    rng = np.random.default_rng(8)
    z, codes, refreshed = rng.normal(size=(6, 2)), rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    grads = []
    for lib in LIBS:
        embedding = lib.nn.Embedding(4, 2).double()
        embedding.weight.data.copy_(lib.from_numpy(codes))
        flat = lib.tensor(z, requires_grad=True)
        distances = (lib.sum(flat ** 2, dim=1, keepdim=True)
                     + lib.sum(embedding.weight ** 2, dim=1)
                     - 2 * lib.matmul(flat, embedding.weight.t()))
        loss = lib.min(distances, dim=1)[0].mean()
        embedding.weight.data.copy_(lib.from_numpy(refreshed))
        loss.backward()
        grads.append((numpy_of(flat.grad), numpy_of(embedding.weight.grad)))
    for ours, theirs in zip(*grads):
        close(ours, theirs, name="gradient")
