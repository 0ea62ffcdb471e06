"""What the checkpoint tests share: rewriting a ``torch.save`` archive, and an object whose
unpickling would run a shell command (a loader that lets it through leaves a marker file)."""

from __future__ import annotations

import os
import zipfile


def rewrite_archive(path, out, change_pickle=None, change_record=None, byteorder=None):
    """A copy of a torch.save archive (a path or a file object) with its pickle or records
    changed."""
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.endswith("/data.pkl") and change_pickle:
                data = change_pickle(data)
            elif "/data/" in info.filename and change_record:
                data = change_record(data)
            elif info.filename.endswith("/byteorder") and byteorder:
                data = byteorder.encode()
            dst.writestr(info, data)
    return out


class Evil:
    """Unpickles as ``os.system("touch <marker>")``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))
