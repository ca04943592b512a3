#!/usr/bin/env python3
"""Fits the on-device tagger's confidence calibration and reports on it.

    calibrate.py IMAGENET.json FIXTURES.json WEIGHTS CALIBRATION_OUT REPORT_OUT

IMAGENET.json and FIXTURES.json are `tagger-logits` outputs (the model's
log-probabilities per image) for the ImageNet sample images (one per class,
named `<wnid>_<name>.JPEG`) and for tests/fixtures/images. WEIGHTS is the
safetensors file they were computed with; its SHA-256 goes into the
calibration so the tagger refuses weights it was not fitted for.
`NETS=lite1,lite2` takes the mean of those networks' probabilities instead
(tagger-logits writes each network's), to compare ensembles from one run.

The tags are those of imagenet-tags.json with everyday-words.json resolved
into them, as the tagger does (`with_words` in tagger/local/mod.rs). A tag's
raw confidence is the summed probability of its classes; it is right for an
image when the image's class is among them. Classes of even index fit the
map, odd ones are held out and every figure is measured on them (and, at
the thresholds, on all 1,000 as well).

The map is one strictly increasing function of the raw confidence, the same
for every tag, so it never changes the order of an image's tags. It is a beta
calibration (Kull et al. 2017), sigmoid(a ln s - b ln(1 - s) + c) with a, b >= 0,
fitted by maximum likelihood: two shapes give it room for both ends of the
scale, where a parent's sum and a leaf's probability behave differently, and
three parameters cannot overfit 500 images. It is written as knots of a
piecewise-linear function, which is what the tagger evaluates.

Standard library only.
"""

import json
import math
import os
import sys

from modelkit import sha256

TAGS = "shared/src/tagger/imagenet-tags.json"
WORDS = "shared/src/tagger/everyday-words.json"
REPORTED_FROM = 0.01  # the tagger's floor: tags under 1% are not reported
FLOOR = 1e-4  # raw confidences below this cannot reach the floor; not fitted
THRESHOLDS = [50, 60, 70, 80, 90]
BINS = 10
KNOTS = 200

# What counts as right on the fixture photos (not ImageNet): a tag is right
# when it stands for one of these classes.
FIXTURES = {
    "chelsea.png": ["tabby", "tiger cat", "egyptian cat", "persian cat", "siamese cat"],
    "coffee.png": ["espresso", "cup", "coffee mug"],
    "motorcycle_left.png": ["moped", "motor scooter", "crash helmet"],
    "rocket.jpg": ["missile", "projectile", "space shuttle"],
    "camera.png": ["reflex camera", "polaroid camera", "tripod", "lens cap"],
}


def vocabulary(with_words=True):
    """(tags [(name, classes)], labels): imagenet-tags.json with the everyday
    words resolved in (a word replaces a tag of its name; one without
    classes removes it), like the tagger's `with_words`."""
    vocab = json.load(open(TAGS))
    labels = vocab["labels"]
    if not with_words:
        return vocab["tags"], labels
    by_name = dict(vocab["tags"])
    resolved = {}
    for w in json.load(open(WORDS))["words"]:
        classes = set()
        for name in w.get("classes", []):
            found = [i for i, label in enumerate(labels) if label == name]
            if len(found) != 1:
                sys.exit(f"{WORDS}: {w['word']}: {len(found)} classes named {name!r}")
            classes.add(found[0])
        for name in w.get("parents", []):
            classes |= set(by_name[name])
        if w["word"] in resolved:
            sys.exit(f"{WORDS}: {w['word']} is listed twice")
        resolved[w["word"]] = sorted(classes)
    tags = [(n, c) for n, c in vocab["tags"] if n not in resolved]
    tags += [(n, c) for n, c in sorted(resolved.items()) if c]
    return tags, labels


def softmax(logp, t=1.0):
    m = max(logp)
    e = [math.exp((x - m) / t) for x in logp]
    z = sum(e)
    return [x / z for x in e]


def mean_log(nets, chosen):
    """ln of the mean of the chosen networks' probabilities."""
    ps = [[math.exp(x) for x in nets[i]] for i in chosen]
    return [math.log(max(sum(col) / len(col), 1e-45)) for col in zip(*ps)]


def raw_tags(p, tags):
    """(tag index, raw confidence) of every tag above FLOOR, like the tagger."""
    out = []
    for i, (_, classes) in enumerate(tags):
        s = sum(p[c] for c in classes)
        if s >= FLOOR:
            out.append((i, min(s, 1.0)))
    return out


def sigmoid(x):
    return 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))


def features(s):
    s = min(max(s, 1e-7), 1 - 1e-7)
    return (math.log(s), -math.log(1 - s), 1.0)


def fit_beta(pairs):
    """Logistic regression of right on (ln s, -ln(1-s), 1), Newton steps,
    with a and b kept >= 0 (an active-set step drops a negative one)."""
    x = [features(s) for s, _ in pairs]
    y = [r for _, r in pairs]
    w = [1.0, 1.0, 0.0]
    free = [0, 1, 2]
    for _ in range(100):
        g = [0.0] * 3
        h = [[0.0] * 3 for _ in range(3)]
        for xi, yi in zip(x, y):
            q = sigmoid(sum(a * b for a, b in zip(w, xi)))
            for j in free:
                g[j] += (q - yi) * xi[j]
                for k in free:
                    h[j][k] += q * (1 - q) * xi[j] * xi[k] + (1e-9 if j == k else 0)
        step = solve([[h[j][k] for k in free] for j in free], [g[j] for j in free])
        if step is None:
            break
        for j, d in zip(free, step):
            w[j] -= d
        for j in (0, 1):
            if j in free and w[j] < 0:
                w[j] = 0.0
                free.remove(j)
        if max(abs(d) for d in step) < 1e-9:
            break
    return w


def solve(a, b):
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(m[r][c]))
        if abs(m[p][c]) < 1e-15:
            return None
        m[c], m[p] = m[p], m[c]
        for r in range(n):
            if r != c:
                f = m[r][c] / m[c][c]
                m[r] = [u - f * v for u, v in zip(m[r], m[c])]
    return [m[i][n] / m[i][i] for i in range(n)]


def beta(w, s):
    return sigmoid(sum(a * b for a, b in zip(w, features(s))))


def knots_of(w):
    """The map at raw confidences spaced evenly in logit, from (0, 0) to
    (1, 1); a knot whose rounded value would not rise is left out, so the
    piecewise-linear map rises strictly."""
    xs = [sigmoid(-9 + 18 * i / (KNOTS - 1)) for i in range(KNOTS)]
    ks = [[0.0, 0.0]]
    for s in xs:
        c = round(beta(w, s), 9)
        if ks[-1][1] < c < 1.0:
            ks.append([round(s, 9), c])
    ks.append([1.0, 1.0])
    return ks


def apply_knots(ks, s):
    lo, hi = 0, len(ks) - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ks[mid][0] <= s:
            lo = mid
        else:
            hi = mid
    (x0, y0), (x1, y1) = ks[lo], ks[hi]
    return y0 + (y1 - y0) * (min(max(s, x0), x1) - x0) / (x1 - x0)


def reliability(pairs):
    """Per confidence decile: count, mean confidence, accuracy; and the ECE
    (count-weighted mean gap) over the tags that would be reported."""
    pairs = [(c, r) for c, r in pairs if c >= REPORTED_FROM]
    bins = [[0, 0.0, 0] for _ in range(BINS)]
    for c, r in pairs:
        b = bins[min(int(c * BINS), BINS - 1)]
        b[0] += 1
        b[1] += c
        b[2] += r
    out = [
        {"from": i / BINS, "n": n, "confidence": sc / n, "accuracy": sr / n}
        for i, (n, sc, sr) in enumerate(bins)
        if n
    ]
    ece = sum(b["n"] * abs(b["confidence"] - b["accuracy"]) for b in out) / len(pairs)
    return out, ece


def at_thresholds(images, conf):
    """Per threshold: images with a tag, images with a right tag, precision."""
    rows = []
    for t in THRESHOLDS:
        tagged = right_img = kept = right = 0
        for tags in images:
            got = [r for s, r in tags if conf(s) * 100 >= t]
            tagged += bool(got)
            right_img += any(got)
            kept += len(got)
            right += sum(got)
        rows.append({
            "threshold": t,
            "tagged": tagged / len(images),
            "right": right_img / len(images),
            "precision": right / kept if kept else None,
        })
    return rows


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__.split("\n\n")[1])
    imagenet, fixtures, weights, out, report_out = sys.argv[1:]
    tags, labels = vocabulary()

    data = json.load(open(imagenet))
    records = data["images"]
    if os.environ.get("NETS"):
        chosen = [data["nets"].index(n) for n in os.environ["NETS"].split(",")]
        for r in records:
            r["log_probabilities"] = mean_log(r["nets"], chosen)
    wnids = sorted({r["file"].split("_")[0] for r in records})
    if len(records) != 1000 or len(wnids) != 1000:
        sys.exit(f"{imagenet}: expected one image for each of the 1,000 classes")
    # Class indices of ImageNet-1k are its WordNet ids in sorted order.
    index = {w: i for i, w in enumerate(wnids)}

    halves = {0: [], 1: []}  # class parity -> [(tags [(raw, right)], probs, class)]
    for r in records:
        cls = index[r["file"].split("_")[0]]
        p = softmax(r["log_probabilities"])
        scored = [(s, int(cls in tags[i][1])) for i, s in raw_tags(p, tags)]
        halves[cls % 2].append((scored, r["log_probabilities"], cls))
    fit, held = halves[0], halves[1]

    w = fit_beta([pair for scored, _, _ in fit for pair in scored])
    ks = knots_of(w)
    calibrated = lambda s: apply_knots(ks, s)  # noqa: E731
    identity = lambda s: s  # noqa: E731

    held_tags = [scored for scored, _, _ in held]
    all_tags = [scored for scored, _, _ in fit + held]
    # The same images and map with the WordNet vocabulary alone: what the
    # everyday words add.
    base, _ = vocabulary(with_words=False)
    base_held, base_all = [], []
    for r in records:
        cls = index[r["file"].split("_")[0]]
        scored = [(s, int(cls in base[i][1]))
                  for i, s in raw_tags(softmax(r["log_probabilities"]), base)]
        base_all.append(scored)
        if cls % 2 == 1:
            base_held.append(scored)
    held_pairs = [pair for scored in held_tags for pair in scored]
    leaf = lambda i: len(tags[i][1]) == 1  # noqa: E731
    held_kind = {"leaf": [], "parent": []}
    for r in records:
        cls = index[r["file"].split("_")[0]]
        if cls % 2 == 1:
            for i, s in raw_tags(softmax(r["log_probabilities"]), tags):
                held_kind["leaf" if leaf(i) else "parent"].append((s, int(cls in tags[i][1])))

    before_bins, before_ece = reliability(held_pairs)
    after_bins, after_ece = reliability([(calibrated(s), r) for s, r in held_pairs])
    # The same fit with the halves swapped: how much of a bin's gap is noise.
    ks_swapped = knots_of(fit_beta([pair for scored, _, _ in held for pair in scored]))
    swapped_bins, swapped_ece = reliability(
        [(apply_knots(ks_swapped, s), r) for scored, _, _ in fit for s, r in scored]
    )
    kinds = {
        k: {
            "before": reliability(v)[1],
            "after": reliability([(calibrated(s), r) for s, r in v])[1],
        }
        for k, v in held_kind.items()
    }

    # Temperature scaling alone, for comparison: T fitted by the likelihood
    # of the true class on the fitting half; it reorders parents and leaves.
    def nll(t):
        return -sum(math.log(max(softmax(lp, t)[c], 1e-300)) for _, lp, c in fit)

    lo, hi = 0.3, 3.0
    for _ in range(30):
        m1, m2 = lo + (hi - lo) / 3, hi - (hi - lo) / 3
        lo, hi = (lo, m2) if nll(m1) < nll(m2) else (m1, hi)
    temperature = (lo + hi) / 2
    t_pairs, reordered = [], 0
    for r in records:
        cls = index[r["file"].split("_")[0]]
        if cls % 2 == 0:
            continue
        raw = dict(raw_tags(softmax(r["log_probabilities"]), tags))
        scaled = raw_tags(softmax(r["log_probabilities"], temperature), tags)
        t_pairs += [(s, int(cls in tags[i][1])) for i, s in scaled]
        shared = [i for i, _ in scaled if i in raw]
        by_raw = sorted(shared, key=lambda i: -raw[i])
        by_t = sorted(shared, key=lambda i: -dict(scaled)[i])
        reordered += by_raw[:5] != by_t[:5]
    temperature_ece = reliability(t_pairs)[1]

    fixture_rows = []
    by_name = {r["file"]: r for r in json.load(open(fixtures))["images"]}
    if os.environ.get("NETS"):
        for r in by_name.values():
            r["log_probabilities"] = mean_log(r["nets"], chosen)
    for name, right_labels in FIXTURES.items():
        classes = {labels.index(label) for label in right_labels}
        p = softmax(by_name[name]["log_probabilities"])
        got = sorted(
            ((calibrated(s) * 100, s * 100, tags[i][0], bool(classes & set(tags[i][1])))
             for i, s in raw_tags(p, tags)),
            reverse=True,
        )
        fixture_rows.append({
            "file": name,
            "tags": [
                {"tag": t, "raw": round(s, 1), "calibrated": round(c, 1), "right": ok}
                for c, s, t, ok in got
                if c >= 50
            ],
        })

    digest = sha256(weights)
    calibration = {
        "model_sha256": digest,
        "method": "beta calibration of the summed probability, one map for every tag",
        "fitted_on": "ImageNet sample images (EliSchwartz/imagenet-sample-images), classes of even index",
        "parameters": {"a": w[0], "b": w[1], "c": w[2]},
        "knots": ks,
    }
    with open(out, "w") as f:
        json.dump(calibration, f, separators=(",", ":"))
        f.write("\n")

    report = {
        "model_sha256": digest,
        "held_out_images": len(held),
        "parameters": calibration["parameters"],
        "ece": {
            "before": before_ece,
            "after": after_ece,
            "temperature_only": temperature_ece,
            "halves_swapped": swapped_ece,
        },
        "ece_by_kind": kinds,
        "temperature": temperature,
        "temperature_reorders_top5_of_images": reordered,
        "reliability": {"before": before_bins, "after": after_bins, "halves_swapped": swapped_bins},
        "thresholds": {
            "before": at_thresholds(held_tags, identity),
            "after": at_thresholds(held_tags, calibrated),
            "after_all_1000": at_thresholds(all_tags, calibrated),
            "after_without_everyday_words": at_thresholds(base_held, calibrated),
            "after_all_1000_without_everyday_words": at_thresholds(base_all, calibrated),
        },
        "fixtures": fixture_rows,
    }
    with open(report_out, "w") as f:
        json.dump(report, f, indent=1)
        f.write("\n")

    print(f"weights {digest}")
    print(f"beta map a={w[0]:.3f} b={w[1]:.3f} c={w[2]:.3f}; held-out {len(held)} images")
    print(f"ECE (tags >= 1%)  before {before_ece:.1%}  after {after_ece:.1%}  "
          f"temperature {temperature:.2f} alone {temperature_ece:.1%} "
          f"(reorders the top 5 of {reordered} images)")
    print(f"halves swapped: ECE {swapped_ece:.1%}")
    for name, bins in (("after", after_bins), ("swapped", swapped_bins)):
        print(f"  {name:8} " + " ".join(
            f"{b['confidence']:.2f}/{b['accuracy']:.2f}({b['n']})" for b in bins))
    for k, v in kinds.items():
        print(f"  {k:6} tags: before {v['before']:.1%}  after {v['after']:.1%}")
    print("threshold | images tagged | with a right tag | precision  (before -> after)")
    for b, a in zip(report["thresholds"]["before"], report["thresholds"]["after"]):
        print(f"{a['threshold']:>9} | {b['tagged']:.1%} -> {a['tagged']:.1%} | "
              f"{b['right']:.1%} -> {a['right']:.1%} | "
              f"{b['precision']:.1%} -> {a['precision']:.1%}")
    print("after, on all 1,000 (half of them fitted) | the same without the everyday words")
    th = report["thresholds"]
    for a, b in zip(th["after_all_1000"], th["after_all_1000_without_everyday_words"]):
        print(f"{a['threshold']:>9} | right {a['right'] * 1000:.0f} / 1000, precision "
              f"{a['precision']:.1%} | right {b['right'] * 1000:.0f}, precision {b['precision']:.1%}")
    for row in fixture_rows:
        print(row["file"], ", ".join(
            f"{t['tag']} {t['raw']}->{t['calibrated']}{'' if t['right'] else ' (wrong)'}"
            for t in row["tags"][:8]))


if __name__ == "__main__":
    main()
