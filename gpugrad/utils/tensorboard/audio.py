"""Audio summaries (``SummaryWriter.add_audio``): one channel of samples in [-1, 1], as 16-bit
PCM in a WAV file (written by the standard library's ``wave``) in a ``Summary.Audio``."""

from __future__ import annotations

import io
import wave

import numpy as np

from . import messages
from .convert import make_np
from .protobuf import bytes_field, float_field, int_field, string_field
from .summary import tag_bytes


def encode_wav(samples: np.ndarray, sample_rate) -> bytes:
    """Mono 16-bit little-endian samples as a WAV file (the rate rounded to an integer)."""
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(samples.astype("<i2").tobytes())
    return out.getvalue()


def audio(tag, samples, sample_rate=44100) -> bytes:
    """An audio summary of ``samples`` (one dimension once size-1 ones are dropped): values
    beyond [-1, 1] are clipped (with a printed warning, as PyTorch's writer prints it), then
    scaled to int16 and truncated."""
    array = make_np(samples).squeeze()
    if np.abs(array).max() > 1:
        print("warning: audio amplitude out of range, auto clipped.")
    array = array.clip(-1, 1)
    if array.ndim != 1:
        raise AssertionError("input tensor should be 1 dimensional.")
    pcm = (array * np.iinfo(np.int16).max).astype(np.int16)
    # Summary.Audio: sample_rate, num_channels, length_frames, encoded_audio_string,
    # content_type.
    encoded = (float_field(1, sample_rate) + int_field(2, 1) + int_field(3, len(pcm))
               + bytes_field(4, encode_wav(pcm, sample_rate)) + string_field(5, "audio/wav"))
    return messages.summary(messages.summary_value(tag_bytes(tag), audio=encoded))
