"""Helpers of the SummaryWriter tests: the event files under a log directory, and their events
as TensorBoard's own reader reads them (the ``tensorboard`` package, imported when used)."""

from __future__ import annotations

import os
import struct

from gpugrad.utils.tensorboard.crc32c import masked_crc32c


def event_files(log_dir) -> list[str]:
    """The event files under ``log_dir`` (its sub-directories included), sorted."""
    return sorted(
        os.path.join(root, name)
        for root, _, names in os.walk(log_dir)
        for name in names
        if name.startswith("events.out.tfevents.")
    )


def raw_events(log_dir):
    """{sub-directory: [Event]} as TensorBoard's record reader reads them (it checks the
    checksums), without the wall time of the file's first event (the time the file opened)
    and the name of the writer."""
    from tensorboard.backend.event_processing import event_file_loader
    from tensorboard.compat.proto import event_pb2
    from tensorboard.plugins.hparams import plugin_data_pb2

    out = {}
    for path in event_files(log_dir):
        events = []
        for record in event_file_loader.RawEventFileLoader(path).Load():
            event = event_pb2.Event.FromString(record)
            event.ClearField("source_metadata")
            if event.HasField("file_version") or event.wall_time > 1e9:  # now, not given
                event.wall_time = 0
            for value in event.summary.value:
                if value.metadata.plugin_data.plugin_name == "hparams":
                    # A map's entries may be serialized in any order: compare them parsed.
                    data = plugin_data_pb2.HParamsPluginData.FromString(
                        value.metadata.plugin_data.content)
                    value.metadata.plugin_data.content = data.SerializeToString(
                        deterministic=True)
            events.append(event)
        out[os.path.relpath(os.path.dirname(path), log_dir)] = events
    return out


def read_records(path) -> list[bytes]:
    """TFRecord payloads, checking both checksums of each (no tensorboard needed)."""
    with open(path, "rb") as f:
        data = f.read()
    records, at = [], 0
    while at < len(data):
        header = data[at:at + 8]
        (length,) = struct.unpack("<Q", header)
        assert struct.unpack("<I", data[at + 8:at + 12])[0] == masked_crc32c(header)
        payload = data[at + 12:at + 12 + length]
        assert struct.unpack("<I", data[at + 12 + length:at + 16 + length])[0] == (
            masked_crc32c(payload))
        records.append(payload)
        at += 16 + length
    return records
