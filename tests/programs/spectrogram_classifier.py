"""A keyword-spotting-style classifier of short synthetic sound clips, with the log-mel
features computed by hand the way torchaudio users often write them out.

The clips: half a second (``CLIP`` = 4000 samples at ``RATE`` = 8 kHz) of one of six sounds
placed at a random time over a background hiss: three steady tones (near 400 Hz, 1 kHz and
2.2 kHz, each frequency jittered by a few percent), a rising and a falling linear chirp, and a
burst of white noise. Phase, loudness, onset, duration and the hiss level are drawn by NumPy's
generator from ``seed``, so every library trains on the same clips.

The features (``LogMel``, part of the model): ``torch.stft`` with ``N_FFT`` = 256,
``HOP`` = 64 and a Hann window (``torch.hann_window``), the power ``spec.abs() ** 2``, a bank
of ``MELS`` triangular filters on the mel scale built in NumPy (``mel_filterbank``) applied
with ``torch.matmul``, ``torch.log(mel + 1e-6)`` and a per-clip normalisation to zero mean and
unit standard deviation. The window and the filterbank are non-persistent buffers: they follow
``.to(dtype)`` but stay out of the ``state_dict``.

The network: three blocks of ``Conv2d`` (3x3, padded), ``BatchNorm2d`` and ReLU, the first two
followed by a 2x2 ``MaxPool2d``, then ``AdaptiveAvgPool2d(1)`` (a sound can start anywhere)
and a ``Linear`` to the six classes. Trained with ``nn.CrossEntropyLoss``, ``AdamW`` and a
``OneCycleLR`` schedule stepped after every batch, over a ``DataLoader`` of the waveforms
(shuffled unless ``shuffle=False``, which the same-start comparison uses).

``reconstruct`` is the check a user writes before masking a spectrogram: ``torch.istft`` of
the complex STFT (same window and hop) gives the waveform back.

Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import numpy as np

RATE = 8000  # samples per second
CLIP = 4000  # samples per clip: half a second
N_FFT, HOP, MELS = 256, 64, 32
CLASSES = ("tone_400", "tone_1000", "tone_2200", "chirp_up", "chirp_down", "noise_burst")
TONES = (400.0, 1000.0, 2200.0)  # Hz, classes 0-2
CHIRP_LOW, CHIRP_HIGH = 300.0, 3000.0  # Hz, the chirps' ends


def hz_to_mel(f):
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_to_hz(m):
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(mels: int = MELS, n_fft: int = N_FFT, rate: int = RATE,
                   low: float = 0.0, high: float | None = None):
    """(mels, n_fft // 2 + 1) triangular filters, float64: filter ``m`` rises linearly from
    the ``m``-th of ``mels + 2`` points equally spaced in mel between ``low`` and ``high``
    (Hz) to the next one and falls to the one after, evaluated at the rfft bin frequencies."""
    high = rate / 2 if high is None else high
    bins = np.linspace(0.0, rate / 2, n_fft // 2 + 1)
    edges = mel_to_hz(np.linspace(hz_to_mel(low), hz_to_mel(high), mels + 2))
    left, centre, right = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins - left) / (centre - left)
    falling = (right - bins) / (right - centre)
    return np.clip(np.minimum(rising, falling), 0.0, None)


def make_clips(rng, count: int, length: int = CLIP, rate: int = RATE):
    """``count`` clips (count, length) in float64 and their classes (count,) as int64,
    the classes in turn (so every class is equally represented) and the clips shuffled."""
    labels = rng.permutation(np.arange(count) % len(CLASSES))
    t = np.arange(length) / rate
    clips = np.empty((count, length))
    for i, label in enumerate(labels):
        duration = rng.uniform(0.2, 0.35)  # seconds
        onset = rng.uniform(0.0, length / rate - duration)
        local = t - onset
        gate = (local >= 0) & (local < duration)
        # 5 ms raised-cosine ramps at both ends of the sound
        ramp = np.clip(np.minimum(local, duration - local) / 0.005, 0.0, 1.0)
        envelope = gate * 0.5 * (1 - np.cos(np.pi * ramp))
        phase = rng.uniform(0, 2 * np.pi)
        if label < len(TONES):
            freq = TONES[label] * rng.uniform(0.95, 1.05)
            sound = np.sin(2 * np.pi * freq * local + phase)
        elif label < len(TONES) + 2:
            f0, f1 = (CHIRP_LOW, CHIRP_HIGH) if label == 3 else (CHIRP_HIGH, CHIRP_LOW)
            f0, f1 = f0 * rng.uniform(0.9, 1.1), f1 * rng.uniform(0.9, 1.1)
            sweep = (f1 - f0) / duration
            sound = np.sin(2 * np.pi * (f0 * local + 0.5 * sweep * local ** 2) + phase)
        else:
            sound = rng.standard_normal(length)
        amplitude = rng.uniform(0.3, 1.0)
        hiss = rng.uniform(0.02, 0.15) * rng.standard_normal(length)
        clips[i] = amplitude * envelope * sound + hiss
    return clips, labels.astype(np.int64)


def build(torch):
    """The model classes for ``torch``: returns ``(LogMel, KeywordCNN)``."""
    nn = torch.nn
    F = torch.nn.functional

    class LogMel(nn.Module):
        """Waveforms (batch, samples) to normalised log-mel spectrograms (batch, 1, mels,
        frames)."""

        def __init__(self, n_fft: int = N_FFT, hop: int = HOP, mels: int = MELS,
                     normalize: bool = True, dtype=None):
            super().__init__()
            self.n_fft, self.hop, self.normalize = n_fft, hop, normalize
            dtype = dtype or torch.get_default_dtype()
            window = torch.hann_window(n_fft, dtype=dtype)
            self.register_buffer("window", window, persistent=False)
            bank = torch.from_numpy(mel_filterbank(mels, n_fft)).to(dtype)
            self.register_buffer("filterbank", bank, persistent=False)

        def spectrogram(self, wave):
            """The complex STFT (batch, n_fft // 2 + 1, frames)."""
            return torch.stft(wave, n_fft=self.n_fft, hop_length=self.hop, window=self.window,
                              return_complex=True)

        def forward(self, wave):
            power = self.spectrogram(wave).abs() ** 2
            mel = torch.matmul(self.filterbank, power)  # (mels, F) @ (batch, F, frames)
            logmel = torch.log(mel + 1e-6)
            if self.normalize:
                mean = logmel.mean(dim=(-2, -1), keepdim=True)
                std = logmel.std(dim=(-2, -1), keepdim=True)
                logmel = (logmel - mean) / (std + 1e-5)
            return logmel.unsqueeze(1)

    class KeywordCNN(nn.Module):
        """Log-mel features, three blocks of conv, batch norm and ReLU (max pooling after the
        first two), global average pooling and a linear head."""

        def __init__(self, classes: int = len(CLASSES), widths=(8, 16, 24), dtype=None):
            super().__init__()
            self.features = LogMel(dtype=dtype)
            inputs = (1,) + tuple(widths[:-1])
            self.convs = nn.ModuleList([nn.Conv2d(i, o, 3, padding=1, bias=False)
                                        for i, o in zip(inputs, widths)])
            self.norms = nn.ModuleList([nn.BatchNorm2d(o) for o in widths])
            self.downsample = nn.MaxPool2d(2)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.head = nn.Linear(widths[-1], classes)

        def forward(self, wave):
            h = self.features(wave)
            last = len(self.convs) - 1
            for i, (conv, norm) in enumerate(zip(self.convs, self.norms)):
                h = F.relu(norm(conv(h)))
                if i < last:
                    h = self.downsample(h)
            return self.head(self.pool(h).flatten(1))

    return LogMel, KeywordCNN


def reconstruct(torch, spec, window, length: int = CLIP, hop: int = HOP):
    """The waveform back from a complex STFT made with ``window`` and ``hop``."""
    return torch.istft(spec, n_fft=window.shape[0], hop_length=hop, window=window,
                       length=length)


def make_model(torch, dtype: str = "float32", initial_state=None):
    """A fresh classifier in ``dtype`` (its window and filterbank too), with ``initial_state``
    (a state_dict) loaded if given."""
    _, KeywordCNN = build(torch)
    model = KeywordCNN(dtype=getattr(torch, dtype)).to(getattr(torch, dtype))
    if initial_state is not None:
        model.load_state_dict(initial_state)
    return model


def main(torch, epochs: int = 5, seed: int = 0, initial_state=None, dtype: str = "float32",
         train_size: int = 288, test_size: int = 180, batch: int = 24, max_lr: float = 2e-2,
         weight_decay: float = 1e-2, shuffle: bool = True,
         max_steps: int | None = None) -> dict:
    """Train for ``epochs`` epochs (or ``max_steps`` steps) of AdamW under OneCycleLR; returns
    the test accuracy before and after, every step's loss and learning rate, the mean loss of
    the first and of the last epoch, whether every parameter got a gradient, and the trained
    parameters and BatchNorm statistics (NumPy, by name)."""
    torch.manual_seed(seed)
    data = torch.utils.data
    real = getattr(torch, dtype)
    model = make_model(torch, dtype, initial_state)
    train_x, train_y = make_clips(np.random.default_rng(seed), train_size)
    test_x, test_y = make_clips(np.random.default_rng(seed + 1000), test_size)
    train_x, test_x = (torch.from_numpy(x).to(real) for x in (train_x, test_x))
    train_y, test_y = torch.from_numpy(train_y), torch.from_numpy(test_y)
    loader = data.DataLoader(data.TensorDataset(train_x, train_y), batch_size=batch,
                             shuffle=shuffle)
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.AdamW(model.parameters(), lr=max_lr, weight_decay=weight_decay)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=max_lr, epochs=epochs,
                                                    steps_per_epoch=len(loader))

    def accuracy():
        model.eval()
        with torch.no_grad():
            predicted = model(test_x).argmax(dim=1)
        model.train()
        return float((predicted == test_y).float().mean())

    initial_accuracy = accuracy()
    losses, rates, epoch_losses = [], [], []
    model.train()
    for _ in range(epochs):
        total, seen = 0.0, 0
        for x, y in loader:
            rates.append(optimizer.param_groups[0]["lr"])  # the rate this step uses
            loss = criterion(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
            total += loss.item() * len(y)
            seen += len(y)
            if max_steps is not None and len(losses) >= max_steps:
                break
        epoch_losses.append(total / seen)
        if max_steps is not None and len(losses) >= max_steps:
            break
    grads_set = all(p.grad is not None and bool((p.grad != 0).any())
                    for p in model.parameters())
    return {
        "initial_accuracy": initial_accuracy,
        "accuracy": accuracy(),
        "initial_loss": epoch_losses[0],
        "final_loss": epoch_losses[-1],
        "losses": losses,
        "rates": rates,
        "grads_set": grads_set,
        "state": {name: t.detach().numpy().copy() for name, t in model.state_dict().items()},
        "dtypes": sorted({str(t.dtype).split(".")[-1] for t in model.parameters()}),
    }


if __name__ == "__main__":
    import argparse
    import importlib
    import time

    parser = argparse.ArgumentParser()
    parser.add_argument("--lib", default="gpugrad", choices=("gpugrad", "torch"))
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    args = parser.parse_args()
    start = time.perf_counter()
    result = main(importlib.import_module(args.lib), epochs=args.epochs, seed=args.seed,
                  dtype=args.dtype)
    for key in ("losses", "rates", "state"):
        result.pop(key)
    print(result, f"{time.perf_counter() - start:.1f}s")
