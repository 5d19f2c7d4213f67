"""Generate the synthetic clothing-review data set of this example (``reviews.csv``).

Each review is 4 to 10 sentences made from fixed phrase lists: product aspects praised or
criticised, neutral remarks, and sometimes a second paragraph (``Update: ...``) after a blank
line. ``recommended`` is 1 when the praise outweighs the criticism (with some noise), so a
bag-of-words model learns which words matter and SHAP has something to find.
``helpful_votes`` is a number beside the text (weakly related to the label). The data is
made up by this script (no personal data) and is released under the repository's licence.

Usage: python make_reviews.py [--rows 600] [--seed 17] [--out reviews.csv]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ASPECTS = [
    "fabric",
    "fit",
    "colour",
    "stitching",
    "zipper",
    "length",
    "material",
    "price",
    "waistband",
    "collar",
]
PRAISE = [
    "is wonderful",
    "feels soft and comfortable",
    "is exactly as pictured",
    "exceeded my expectations",
    "is perfect for summer",
    "looks elegant",
    "is great quality",
    "is flattering",
]
CRITICISM = [
    "is cheap and thin",
    "fell apart after one wash",
    "runs very small",
    "is scratchy",
    "looks nothing like the photo",
    "is disappointing",
    "is poorly made",
    "faded quickly",
]
INTENSIFIERS = ["", "", "really ", "honestly ", "absolutely "]
NEUTRAL = [
    "I bought this for a wedding.",
    "I usually wear a medium.",
    "My sister ordered the same one.",
    "It arrived two days after I ordered it.",
    "I am 5'6\" and about 130 lbs.",
    "I wore it to the café on Sunday.",
    "The package was a plain grey bag.",
    "I tried it with jeans and with a skirt...",
]
CLOSERS_POS = ["I would buy it again!", "Highly recommend.", "Love it!"]
CLOSERS_NEG = ["I am returning it.", "Save your money.", "Not worth it!"]


def _sentence(rng: np.random.RandomState, positive: bool) -> str:
    aspect = ASPECTS[rng.randint(len(ASPECTS))]
    verb = (PRAISE if positive else CRITICISM)[rng.randint(len(PRAISE))]
    intens = INTENSIFIERS[rng.randint(len(INTENSIFIERS))]
    return f"The {aspect} {intens}{verb}."


def make_reviews(rows: int, seed: int) -> pd.DataFrame:
    """The data set: ``review`` (text), ``helpful_votes`` (int) and ``recommended`` (0/1)."""
    rng = np.random.RandomState(seed)
    out = []
    for _ in range(rows):
        leaning = rng.uniform(-1, 1)
        n_opinions = rng.randint(3, 7)
        opinions = [rng.uniform(-1, 1) < leaning for _ in range(n_opinions)]
        sentences = [_sentence(rng, p) for p in opinions]
        for _ in range(rng.randint(1, 4)):
            sentences.insert(rng.randint(len(sentences) + 1), NEUTRAL[rng.randint(len(NEUTRAL))])
        score = sum(1 if p else -1 for p in opinions) + rng.normal(0, 0.7)
        if rng.uniform() < 0.6:
            sentences.append((CLOSERS_POS if score > 0 else CLOSERS_NEG)[rng.randint(3)])
        text = " ".join(sentences)
        if rng.uniform() < 0.2:
            later = rng.uniform() < 0.5
            text += "\n\nUpdate: " + _sentence(rng, later)
            score += 0.8 if later else -0.8
        votes = int(rng.poisson(3 if score < 0 else 2))
        out.append({"review": text, "helpful_votes": votes, "recommended": int(score > 0)})
    return pd.DataFrame(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=600)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--out", type=Path, default=HERE / "reviews.csv")
    args = parser.parse_args()
    make_reviews(args.rows, args.seed).to_csv(args.out, index=False)
    print(f"wrote {args.rows} reviews to {args.out}")


if __name__ == "__main__":
    main()
