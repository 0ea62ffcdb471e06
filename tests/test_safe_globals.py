"""``gpugrad.serialization.add_safe_globals`` and friends: checkpoints that ``torch.save`` wrote
with other objects than tensors load once those are allowlisted, as with
``torch.load(weights_only=True)``; nothing else runs. ``get_unsafe_globals_in_checkpoint``
lists what would need allowlisting, as PyTorch's."""

from __future__ import annotations

import argparse
import dataclasses
import enum
import io
import os
import pickle
import re
import sys
import zipfile

import pytest
import torch
from checkpoint_tools import Evil, rewrite_archive

import gpugrad
import gpugrad.serialization as gs


@dataclasses.dataclass(frozen=True)
class Config:
    width: int
    name: str
    dropout: float = 0.1


class Color(enum.Enum):
    RED = 1
    GREEN = 2


class Stateful:
    """Pickles only ``n``; ``__setstate__`` rebuilds the rest."""

    def __init__(self, n):
        self.n, self.cache = n, "derived"

    def __getstate__(self):
        return {"n": self.n}

    def __setstate__(self, state):
        self.n, self.cache = state["n"], "rebuilt"


class Slotted:
    __slots__ = ("a", "b")

    def __init__(self, a, b):
        self.a, self.b = a, b


ALLOWED = [argparse.Namespace, Config, Color, Stateful, Slotted]


@pytest.fixture(autouse=True)
def _no_allowlist():
    gs.clear_safe_globals()
    torch.serialization.clear_safe_globals()
    yield
    gs.clear_safe_globals()
    torch.serialization.clear_safe_globals()


def _checkpoint(tmp_path):
    obj = {
        "args": argparse.Namespace(lr=0.01, layers=[64, 64], scale=torch.tensor(2.0)),
        "model": {"w": torch.arange(6.0).reshape(2, 3), "config": Config(8, "tiny")},
        "mode": Color.GREEN,
        "stateful": Stateful(3),
        "slots": [Slotted(1, torch.ones(2))],
    }
    path = tmp_path / "checkpoint.pt"
    torch.save(obj, path)
    return path


def _check(loaded, tensor_type):
    args = loaded["args"]
    assert isinstance(args, argparse.Namespace)
    assert (args.lr, args.layers) == (0.01, [64, 64])
    assert isinstance(args.scale, tensor_type) and float(args.scale) == 2.0
    assert isinstance(loaded["model"]["w"], tensor_type)
    assert loaded["model"]["w"].tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert loaded["model"]["config"] == Config(8, "tiny")
    assert loaded["mode"] is Color.GREEN
    stateful = loaded["stateful"]
    assert type(stateful) is Stateful and (stateful.n, stateful.cache) == (3, "rebuilt")
    slotted = loaded["slots"][0]
    assert type(slotted) is Slotted and slotted.a == 1 and slotted.b.tolist() == [1.0, 1.0]


def test_refused_without_allowlist_with_a_message_naming_the_api(tmp_path):
    path = _checkpoint(tmp_path)
    for weights_only in (True, False):
        with pytest.raises(pickle.UnpicklingError,
                           match=r"add_safe_globals\(\[argparse\.Namespace\]\)"):
            gpugrad.load(path, weights_only=weights_only)
    with pytest.raises(pickle.UnpicklingError, match="add_safe_globals"):
        torch.load(path, weights_only=True)
    # allowlisting only some of them is not enough
    gs.add_safe_globals([argparse.Namespace])
    with pytest.raises(pickle.UnpicklingError, match=re.escape(f"safe_globals([{__name__}.")):
        gpugrad.load(path)


def test_allowlisted_objects_load_as_torch_loads_them(tmp_path):
    path = _checkpoint(tmp_path)
    gs.add_safe_globals(ALLOWED)
    torch.serialization.add_safe_globals(ALLOWED)
    assert gs.get_safe_globals() == ALLOWED
    _check(gpugrad.load(path), gpugrad.Tensor)
    _check(torch.load(path, weights_only=True), torch.Tensor)
    assert set(gs.get_safe_globals()) == set(torch.serialization.get_safe_globals())
    gs.clear_safe_globals()
    assert gs.get_safe_globals() == []
    with pytest.raises(pickle.UnpicklingError, match="refused the global"):
        gpugrad.load(path)


def test_the_context_manager_scopes_the_allowlist(tmp_path):
    path = _checkpoint(tmp_path)
    with gs.safe_globals(ALLOWED):
        assert gs.get_safe_globals() == ALLOWED
        _check(gpugrad.load(path), gpugrad.Tensor)
    assert gs.get_safe_globals() == []
    with pytest.raises(pickle.UnpicklingError):
        gpugrad.load(path)
    # as PyTorch's: leaving the block removes its entries, also ones added before it
    for api in (gs, torch.serialization):
        api.add_safe_globals([Config, Color])
        with api.safe_globals([Color, Slotted]):
            pass
        assert api.get_safe_globals() == [Config]
        api.clear_safe_globals()


def test_an_entry_named_as_the_pickle_names_it(tmp_path):
    # A class saved from a script is pickled as __main__.<name>; a (class, name) pair maps it.
    main = sys.modules["__main__"]
    Config.__module__ = "__main__"
    main.Config = Config
    try:
        path = tmp_path / "main.pt"
        torch.save({"config": Config(4, "main")}, path)
    finally:
        Config.__module__ = __name__
        del main.Config
    with gs.safe_globals([Config]), pytest.raises(pickle.UnpicklingError,
                                                  match=r"global __main__\.Config"):
        gpugrad.load(path)
    with gs.safe_globals([(Config, "__main__.Config")]):
        assert gpugrad.load(path) == {"config": Config(4, "main")}
    with torch.serialization.safe_globals([(Config, "__main__.Config")]):
        assert torch.load(path, weights_only=True) == {"config": Config(4, "main")}
    # malformed pairs fail when a checkpoint needs the allowlist, as in PyTorch
    for bad, error in (((Config, "__main__.Config", 1), ValueError), ((Config, 1), TypeError)):
        for api, load in ((gs, gpugrad.load), (torch.serialization,
                                               lambda p: torch.load(p, weights_only=True))):
            with api.safe_globals([bad]), pytest.raises(error):
                load(path)


# Hostile pickles: each would reach code that was not allowlisted.

class Callable:
    """An allowlisted class whose instances are callable and have list/dict-like methods."""

    def __call__(self, *args):
        raise AssertionError("an instance was called")

    def append(self, item):
        raise AssertionError("append was called")

    def __setitem__(self, key, value):
        raise AssertionError("__setitem__ was called")


class NotAllowed:
    pass


def make_not_allowed():
    return NotAllowed()


class _Reduce:
    """Pickles as ``func(*args)`` followed by an optional BUILD with ``state``."""

    def __init__(self, func, args=(), state=None):
        self.func, self.args, self.state = func, args, state

    def __reduce__(self):
        return (self.func, self.args) if self.state is None else (self.func, self.args,
                                                                   self.state)


def _with_pickle(tmp_path, payload: bytes):
    """A torch.save checkpoint whose data.pkl is ``payload``."""
    buffer = io.BytesIO()
    torch.save({"w": torch.ones(2)}, buffer)
    return rewrite_archive(buffer, tmp_path / "hostile.pt", change_pickle=lambda _: payload)


def test_allowlisting_lets_nothing_else_through(tmp_path):
    marker = tmp_path / "pwned"
    gs.add_safe_globals([argparse.Namespace, Callable, make_not_allowed])
    # os.system in the state of an allowlisted object
    state = pickle.dumps(argparse.Namespace(x=Evil(marker)), protocol=2)
    with pytest.raises(pickle.UnpicklingError, match=r"refused the global posix\.system"):
        gpugrad.load(_with_pickle(tmp_path, state))
    # os.system allowlisted itself: its module is never loaded (as in PyTorch)
    evil = pickle.dumps({"x": Evil(marker)}, protocol=2)
    with gs.safe_globals([os.system]), pytest.raises(pickle.UnpicklingError,
                                                     match="never loaded"):
        gpugrad.load(_with_pickle(tmp_path, evil))
    with torch.serialization.safe_globals([os.system]), pytest.raises(pickle.UnpicklingError):
        torch.load(_with_pickle(tmp_path, evil), weights_only=True)
    assert not marker.exists()

    hostile = {
        "refused to call": _Reduce(Callable(), (1,)),  # an instance is no global
        "refused to set the state": _Reduce(make_not_allowed, (), {"a": 1}),
        "refused to set the attribute '__class__'": _Reduce(
            Callable, (), (None, {"__class__": argparse.Namespace})),
    }
    for message, obj in hostile.items():
        with pytest.raises(pickle.UnpicklingError, match=message):
            gpugrad.load(_with_pickle(tmp_path, pickle.dumps(obj, protocol=2)))
    # items go only into plain lists and dicts, never through an object's methods
    base = pickle.dumps(_Reduce(Callable), protocol=2)[:-1]  # drop STOP
    for opcodes, message in ((b"K\x01a.", "refused APPEND on a Callable"),
                             (b"(K\x01e.", "refused APPENDS"),
                             (b"K\x01K\x02s.", "refused SETITEM on a Callable"),
                             (b"(K\x01K\x02u.", "refused SETITEMS")):
        with pytest.raises(pickle.UnpicklingError, match=message):
            gpugrad.load(_with_pickle(tmp_path, base + opcodes))
    # OBJ's class is an instance (not a global); NEWOBJ of a function (not a class)
    obj_of_instance = b"\x80\x02(" + base[2:] + b"K\x01o."
    newobj_of_function = b"\x80\x02c" + f"{__name__}\nmake_not_allowed\n".encode() + b")\x81."
    for payload, message in ((obj_of_instance, "refused to call"),
                             (newobj_of_function, "refused to create an instance of")):
        with pytest.raises(pickle.UnpicklingError, match=message):
            gpugrad.load(_with_pickle(tmp_path, payload))
    # an allowlisted function's results are usable; its class still is not allowlisted
    loaded = gpugrad.load(_with_pickle(tmp_path, pickle.dumps(_Reduce(make_not_allowed),
                                                              protocol=2)))
    assert type(loaded) is NotAllowed


# get_unsafe_globals_in_checkpoint: what loading would refuse, read from the pickle's opcodes.

def _unsafe(f):
    """gpugrad's and torch's answers, each sorted (torch's comes from a set)."""
    answers = []
    for fn in (gs.get_unsafe_globals_in_checkpoint,
               torch.serialization.get_unsafe_globals_in_checkpoint):
        if hasattr(f, "seek"):
            f.seek(0)
        answers.append(sorted(fn(f)))
    return answers


def test_unsafe_globals_are_torchs_and_shrink_with_the_allowlist(tmp_path):
    path = _checkpoint(tmp_path)
    ours, theirs = _unsafe(path)
    assert ours == theirs == sorted(["argparse.Namespace"] + [
        f"{__name__}.{c.__name__}" for c in (Config, Color, Stateful, Slotted)])
    for api in (gs, torch.serialization):
        api.add_safe_globals([argparse.Namespace, Config])
    ours, theirs = _unsafe(path)
    assert ours == theirs == sorted(f"{__name__}.{c.__name__}" for c in (Color, Stateful,
                                                                           Slotted))
    with gs.safe_globals(ALLOWED), torch.serialization.safe_globals(ALLOWED):
        assert _unsafe(path) == [[], []]
    # (leaving the block emptied the allowlist) a file object too; in the order of the file
    with open(path, "rb") as f:
        assert gs.get_unsafe_globals_in_checkpoint(f) == ["argparse.Namespace"] + [
            f"{__name__}.{c.__name__}" for c in (Config, Color, Stateful, Slotted)]


def test_unsafe_globals_of_weights_only_checkpoints_are_none(tmp_path):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    buffer = io.BytesIO()
    torch.save({"model": net.state_dict(), "step": 3, "dtype": torch.float16,
                "size": torch.Size([2]), "device": torch.device("cpu"), "data": b"\x00\x01",
                "param": torch.nn.Parameter(torch.ones(2))}, buffer)
    assert _unsafe(buffer) == [[], []]
    # gpugrad.save's archives hold JSON and arrays, no pickle: nothing to allowlist
    path = tmp_path / "ours.npz"
    gpugrad.save(gpugrad.nn.Linear(3, 4).state_dict(), path)
    assert gs.get_unsafe_globals_in_checkpoint(path) == []
    with pytest.raises(TypeError, match="can't store objects of type Config"):
        gpugrad.save({"config": Config(1, "x")}, tmp_path / "no.npz")


def test_every_global_torch_allows_by_default_is_safe(tmp_path):
    from torch import _weights_only_unpickler

    names = sorted(_weights_only_unpickler._get_allowed_globals())
    globals_ = b"".join(b"c%s\n%s\n" % tuple(n.rsplit(".", 1)[i].encode() for i in (0, 1))
                        for n in names)
    payload = b"\x80\x02](" + globals_ + b"e."  # a list of the globals (torch's walker's ops)
    path = _with_pickle(tmp_path, payload)
    assert _unsafe(path) == [[], []]
    gs.add_safe_globals([Config])  # the user's and the defaults, together
    extra = b"\x80\x02](" + globals_ + f"c{__name__}\nConfig\nc{__name__}\nColor\n".encode() + \
        b"e."
    assert _unsafe(_with_pickle(tmp_path, extra)) == [[f"{__name__}.Color"],
                                                      [f"{__name__}.Color", f"{__name__}.Config"]]


def test_unsafe_globals_are_read_not_run(tmp_path):
    marker = tmp_path / "pwned"
    path = _with_pickle(tmp_path, pickle.dumps({"x": Evil(marker)}, protocol=2))
    ours, theirs = _unsafe(path)
    assert ours == theirs == [f"{os.system.__module__}.system"]
    assert not marker.exists()
    # Python 2 names as Python 3 reads them; any protocol (torch's reader stops at protocol 2's
    # opcodes: STACK_GLOBAL and memo ops of protocol 4 raise there)
    assert gs.get_unsafe_globals_in_checkpoint(_with_pickle(
        tmp_path, b"\x80\x02c__builtin__\nslice\nc__builtin__\nset\n\x86.")) == ["builtins.slice"]
    obj = {"args": argparse.Namespace(a=Color.RED), "again": argparse.Namespace(), "s": slice(1)}
    p4 = _with_pickle(tmp_path, pickle.dumps(obj, protocol=4))
    assert gs.get_unsafe_globals_in_checkpoint(p4) == [
        "argparse.Namespace", f"{__name__}.Color", "builtins.slice"]
    with pytest.raises(pickle.UnpicklingError, match="Unsupported operand"):
        torch.serialization.get_unsafe_globals_in_checkpoint(p4)


def test_unsafe_globals_of_what_is_no_checkpoint(tmp_path):
    (tmp_path / "text").write_text("not a zip")
    for fn in (gs.get_unsafe_globals_in_checkpoint,
               torch.serialization.get_unsafe_globals_in_checkpoint):
        with pytest.raises(ValueError, match="Expected input to be a checkpoint returned by "
                                             "torch.save"):
            fn(tmp_path / "text")
    scripted = tmp_path / "scripted.pt"  # what makes a TorchScript archive: its constants
    with zipfile.ZipFile(scripted, "w") as zf:
        zf.writestr("scripted/data.pkl", pickle.dumps({}, protocol=2))
        zf.writestr("scripted/constants.pkl", pickle.dumps((), protocol=2))
        zf.writestr("scripted/version", "3\n")
    for fn in (gs.get_unsafe_globals_in_checkpoint,
               torch.serialization.get_unsafe_globals_in_checkpoint):
        with pytest.raises(ValueError, match="got a torchscript checkpoint"):
            fn(scripted)
    assert "get_unsafe_globals_in_checkpoint" in gs.__all__
    assert not hasattr(torch, "get_unsafe_globals_in_checkpoint")
    assert not hasattr(gpugrad, "get_unsafe_globals_in_checkpoint")
