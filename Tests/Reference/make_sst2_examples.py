#!/usr/bin/env python3
"""Writes Examples/glue/SST-2/train.tsv (~600 rows) and dev.tsv (held out) in GLUE SST-2 layout.

Short movie-review sentences made from templates x word lists, labelled 1 (positive) or
0 (negative) by the polarity of the opinion word. They are written for spikescope (not taken
from the Stanford Sentiment Treebank) and train the default spiking sentiment classifier.

Held-out dev: its templates never occur in train, and it uses subjects that train does not;
the opinion words are shared (a classifier has to learn them from train), so dev measures
generalisation to new sentence frames. Deterministic (seeded); re-run to regenerate:
    python3 Tests/Reference/make_sst2_examples.py
"""
import os
import random

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "Examples", "glue", "SST-2")

POSITIVE = ["wonderful", "delightful", "brilliant", "moving", "charming", "funny", "beautiful",
            "gripping", "clever", "warm", "touching", "superb", "fresh", "thrilling", "joyful",
            "excellent", "lovely", "smart", "inspired", "memorable"]
NEGATIVE = ["boring", "dull", "awful", "tedious", "clumsy", "lifeless", "predictable", "messy",
            "bland", "terrible", "flat", "tiresome", "sloppy", "pointless", "weak", "dreary",
            "annoying", "forgettable", "stale", "painful"]
POS_VERBS = ["loved", "enjoyed", "admired", "adored", "treasured"]
NEG_VERBS = ["hated", "disliked", "regretted", "resented", "endured"]

TRAIN_SUBJECTS = ["the film", "this movie", "the story", "the acting", "the script", "the ending",
                  "the soundtrack", "the cast", "the plot", "the dialogue", "the direction",
                  "the first act", "the hero", "the comedy", "the drama"]
DEV_SUBJECTS = ["the sequel", "the animation", "the villain", "the finale", "the camera work",
                "the documentary", "the pacing", "the love story"]

TRAIN_TEMPLATES = [
    "{s} is {a} .",
    "{s} was {a} from start to finish .",
    "a {a} experience .",
    "i found {s} {a} .",
    "{s} feels {a} and {a2} .",
    "what a {a} piece of work .",
    "i {v} {s} .",
    "{s} is simply {a} .",
]
DEV_TEMPLATES = [
    "honestly , {s} turned out {a} .",
    "overall {s} seemed {a} to me .",
    "my friends {v} {s} , and so did i .",
    "{s} ? {a} , really {a2} .",
]


def make(rng, templates, subjects, n, exclude=frozenset()):
    rows, seen = [], set()
    i = 0
    while len(rows) < n:
        positive = len(rows) % 2 == 0  # balanced classes
        i += 1
        words, words2 = (POSITIVE, POSITIVE) if positive else (NEGATIVE, NEGATIVE)
        verbs = POS_VERBS if positive else NEG_VERBS
        t = rng.choice(templates)
        a = rng.choice(words)
        a2 = rng.choice([w for w in words2 if w != a])
        sentence = t.format(s=rng.choice(subjects), a=a, a2=a2, v=rng.choice(verbs))
        if sentence in seen or sentence in exclude:  # no repeated sentences
            continue
        seen.add(sentence)
        rows.append((sentence, "1" if positive else "0"))
    rng.shuffle(rows)
    return rows


def write(path, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("sentence\tlabel\n")
        for s, l in rows:
            assert "\t" not in s and "\n" not in s
            f.write(f"{s}\t{l}\n")


if __name__ == "__main__":
    rng = random.Random(20240611)
    train = make(rng, TRAIN_TEMPLATES, TRAIN_SUBJECTS, 600)
    dev = make(rng, DEV_TEMPLATES, DEV_SUBJECTS, 96, exclude={s for s, _ in train})
    write(os.path.join(OUT, "train.tsv"), train)
    write(os.path.join(OUT, "dev.tsv"), dev)
    print("train", len(train), "dev", len(dev), "->", OUT)
