"""Inference mode itself, against torch: nesting with the grad modes, the decorator forms
(bare, called, generator functions), reuse of the context object, thread-locality, and the
mode restored after an exception."""

from __future__ import annotations

import threading

import pytest
from torch_oracle import same

import gpugrad


def test_modes_nest():
    def run(L):
        seen = []

        def note():
            seen.append((L.is_grad_enabled(), L.is_inference_mode_enabled(),
                         L.ones(1).is_inference()))

        note()
        with L.inference_mode():
            note()
            with L.inference_mode(False):
                note()
                with L.inference_mode():
                    note()
                with L.no_grad():
                    note()
                note()
            with L.no_grad():
                note()
            with L.set_grad_enabled(True):
                note()
            note()
        with L.no_grad():
            with L.inference_mode(mode=False):  # turns grad mode on
                note()
            note()
        with L.inference_mode(False):
            note()
        note()
        return seen

    same(run)


def test_decorators():
    def run(L):
        def report():
            return L.is_inference_mode_enabled(), L.is_grad_enabled(), L.ones(1).is_inference()

        @L.inference_mode
        def bare():
            return report()

        @L.inference_mode()
        def called():
            return report()

        @L.inference_mode(False)
        def off():
            return report()

        @L.inference_mode()
        def gen():
            yield report()
            sent = yield report()
            yield sent

        g = gen()
        steps = [next(g), report(), next(g), g.send("x")]
        return bare(), called(), off(), bare.__name__, steps, report()

    same(run)


def test_context_object_is_reusable_and_clonable():
    def run(L):
        c = L.inference_mode()
        seen = []
        for _ in range(2):
            with c:
                seen.append(L.is_inference_mode_enabled())
            seen.append(L.is_inference_mode_enabled())
        with c.clone():
            seen.append(L.ones(1).is_inference())
        return seen

    same(run)


def test_inference_mode_is_thread_local():
    results = {}
    inside = threading.Event()
    release = threading.Event()

    def worker():
        with gpugrad.inference_mode():
            inside.set()
            release.wait()
            results["worker"] = gpugrad.ones(1).is_inference()

    t = threading.Thread(target=worker)
    t.start()
    inside.wait()
    results["main"] = (gpugrad.is_inference_mode_enabled(), gpugrad.ones(1).is_inference(),
                       gpugrad.ones(2)[0].is_inference())
    release.set()
    t.join()
    assert results == {"worker": True, "main": (False, False, False)}
    assert not gpugrad.ones(1).is_inference()


def test_an_exception_leaves_the_mode():
    def run(L):
        with pytest.raises(ValueError), L.inference_mode():
            raise ValueError
        return L.is_inference_mode_enabled(), L.is_grad_enabled(), L.ones(1).is_inference()

    same(run)
