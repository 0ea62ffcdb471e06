"""A small English-like corpus for the language-model programs, made by a fixed grammar (so
there is structure to learn and no file to download)."""

from __future__ import annotations

import random

_SUBJECTS = ["the cat", "a dog", "the old man", "my sister", "the teacher", "a small bird",
             "the farmer", "our neighbour"]
_VERBS = ["sees", "likes", "finds", "carries", "follows", "paints", "hears", "wants"]
_OBJECTS = ["the red ball", "a green apple", "the long road", "a quiet river", "the open door",
            "a warm coat", "the tall tree", "some fresh bread"]
_ENDINGS = [" today", " at night", " in the garden", " again", "", " by the sea", ""]


def corpus(sentences: int = 400, seed: int = 1234) -> str:
    """``sentences`` lines of subject, verb, object and an optional ending."""
    rng = random.Random(seed)
    lines = []
    for _ in range(sentences):
        line = (f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)}"
                f"{rng.choice(_ENDINGS)}.")
        lines.append(line)
    return "\n".join(lines) + "\n"
