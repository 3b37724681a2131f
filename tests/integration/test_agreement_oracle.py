"""test_agreement_oracle: coordinator/agreement.c against NLTK and statsmodels on seeded random data (complete and with missing values)."""

# The C functions are reached through tests/agreement_driver (ratings on
# stdin, every measure as JSON on stdout). The oracles are Debian's
# python3-nltk (nltk.metrics.agreement.AnnotationTask: alpha, kappa,
# kappa_pairwise, multi_kappa, pi, S, avg_Ao) and python3-statsmodels
# (statsmodels.stats.inter_rater: fleiss_kappa, cohens_kappa). Every value
# must match to 1e-9.
#
# Where the oracles define a measure differently the comparison is restricted
# to data where both agree on its meaning, and says so:
#  - NLTK's kappa, multi_kappa, pi and S assume every coder labels every item
#    (their chance terms divide by the number of all items), and
#    statsmodels' fleiss_kappa asserts it: compared on complete data only.
#    With missing data, Cohen's kappa is compared per pair against
#    statsmodels on the records the pair shares, and the generalised Fleiss
#    kappa against its formula written out here.
#  - R irr / jury build weighted kappa over the categories the pair used, so
#    statsmodels gets the pair's table over exactly those categories.
#  - NLTK's masi_distance rounds Passonneau's 2/3 and 1/3 to 0.67 and 0.33;
#    NLTK's alpha is given the exact MASI instead.
#  - NLTK has no ordinal alpha; it is compared with Krippendorff's (2011)
#    coincidence-matrix formula written out here.

import itertools
import json
import os
import random
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jurytest import SOURCE_DIR, Checks, CheckFailed  # noqa: E402

import numpy as np  # noqa: E402
from nltk.metrics.agreement import AnnotationTask  # noqa: E402
from nltk.metrics.distance import binary_distance, edit_distance, interval_distance  # noqa: E402
from statsmodels.stats.inter_rater import aggregate_raters, cohens_kappa, fleiss_kappa  # noqa: E402

DRIVER = os.environ.get("AGREEMENT_DRIVER") or os.path.join(SOURCE_DIR, "build", "tests", "agreement_driver")
TOL = 1e-9
DRIVER_TIMEOUT_S = 120  # a bound, not a measure


def close(name, got, want):
    if got is None or want is None or not abs(got - want) <= TOL * max(1.0, abs(want)):
        raise CheckFailed(f"{name}: jury {got!r}, oracle {want!r}")


def run_driver(header, triples):
    """Feeds `header` and (unit, coder, value) triples to the driver; returns its JSON."""
    text = "\t".join(str(h) for h in header) + "\n"
    text += "".join(f"{u}\t{c}\t{v}\n" for u, c, v in triples)
    p = subprocess.run([DRIVER], input=text.encode("utf-8"), capture_output=True, timeout=DRIVER_TIMEOUT_S)
    if p.returncode != 0:
        raise CheckFailed(f"agreement_driver exit {p.returncode}: {p.stderr.decode(errors='replace')}")
    return json.loads(p.stdout.decode("utf-8"))


# ---------------------------------------------------------------------------
# Seeded data

def categorical(rng, units, coders, k, p_rate):
    """Each unit has a true category; coders rate it with probability p_rate
    (1 = complete) and answer the truth with their own accuracy, else at
    random. Returns sorted (unit, coder, category index) triples."""
    acc = [rng.uniform(0.3, 0.9) for _ in range(coders)]
    out = []
    for u in range(units):
        truth = rng.randrange(k)
        for c in range(coders):
            if p_rate < 1 and rng.random() >= p_rate:
                continue
            out.append((u, c, truth if rng.random() < acc[c] else rng.randrange(k)))
    return out


def numeric_scale(rng, k):
    """k distinct positive numbers, unevenly spaced, ascending (index order = numeric order)."""
    return sorted(rng.sample(range(1, 40), k))


# ---------------------------------------------------------------------------
# Independent formulas for what the oracles lack

def ordinal_alpha(triples, k):
    """Krippendorff (2011) ordinal alpha from the coincidence matrix."""
    by_unit = {}
    for u, _, v in triples:
        by_unit.setdefault(u, []).append(v)
    o = np.zeros((k, k))
    for vals in by_unit.values():
        m = len(vals)
        if m < 2:
            continue
        for i, j in itertools.permutations(range(m), 2):
            o[vals[i], vals[j]] += 1.0 / (m - 1)
    nc = o.sum(axis=1)
    n = nc.sum()

    def delta(c, d):
        lo, hi = min(c, d), max(c, d)
        return (nc[lo:hi + 1].sum() - (nc[lo] + nc[hi]) / 2.0) ** 2

    do = sum(o[c, d] * delta(c, d) for c in range(k) for d in range(k))
    de = sum(nc[c] * nc[d] * delta(c, d) for c in range(k) for d in range(k))
    return 1.0 - (n - 1) * do / de


def generalised_fleiss(triples, k):
    """Fleiss' kappa over records with varying numbers of raters (>= 2)."""
    counts = {}
    for u, _, v in triples:
        counts.setdefault(u, [0] * k)[v] += 1
    rows = [r for r in counts.values() if sum(r) >= 2]
    p_bar = sum((sum(x * x for x in r) - sum(r)) / (sum(r) * (sum(r) - 1)) for r in rows) / len(rows)
    tot = [sum(r[j] for r in rows) for j in range(k)]
    p_e = sum((t / sum(tot)) ** 2 for t in tot)
    return (p_bar - p_e) / (1 - p_e), p_bar


def pair_table(triples, a, b):
    """The contingency table of coders a (rows) and b over their shared units and the categories
    either used there, in index order (R irr kappa2's levels)."""
    va = {u: v for u, c, v in triples if c == a}
    vb = {u: v for u, c, v in triples if c == b}
    shared = sorted(set(va) & set(vb))
    cats = sorted({va[u] for u in shared} | {vb[u] for u in shared})
    idx = {c: i for i, c in enumerate(cats)}
    t = np.zeros((len(cats), len(cats)))
    for u in shared:
        t[idx[va[u]], idx[vb[u]]] += 1
    return t, len(shared)


def masi_exact(a, b):
    """MASI distance with Passonneau's exact monotonicity weights (NLTK rounds them)."""
    inter, union = len(a & b), len(a | b)
    if union == 0:
        return 0.0
    if a == b:
        m = 1.0
    elif inter == min(len(a), len(b)):
        m = 2.0 / 3.0
    elif inter > 0:
        m = 1.0 / 3.0
    else:
        m = 0.0
    return 1.0 - inter / union * m


def normalised_edit(a, b):
    longest = max(len(a), len(b))
    return 0.0 if longest == 0 else edit_distance(a, b) / longest


def ratio_distance(a, b):
    return 0.0 if a + b == 0 else ((a - b) / (a + b)) ** 2


# ---------------------------------------------------------------------------
# Checks

def check_alpha(triples, k, nums, got):
    """Alpha at every level: NLTK nominal/interval/ratio on the numeric labels, ordinal by formula."""
    data = [(c, u, nums[v]) for u, c, v in triples]
    close("alpha nominal", got["alpha_nominal"], AnnotationTask(data, binary_distance).alpha())
    close("alpha interval", got["alpha_interval"], AnnotationTask(data, interval_distance).alpha())
    close("alpha ratio", got["alpha_ratio"], AnnotationTask(data, ratio_distance).alpha())
    close("alpha ordinal", got["alpha_ordinal"], ordinal_alpha(triples, k))


def check_complete_multi(triples, k, coders, got):
    """NLTK kappa, multi_kappa, pi, S, avg_Ao and statsmodels fleiss_kappa on complete data."""
    task = AnnotationTask([(c, u, v) for u, c, v in triples])
    mean_kappa = sum(p["kappa"] for p in got["pairs"]) / len(got["pairs"])
    close("kappa (mean of pairs)", mean_kappa, task.kappa())
    close("multi_kappa", got["multi_kappa"], task.multi_kappa())
    close("pi = Fleiss", got["fleiss"], task.pi())
    close("S", got["bennett_s"], task.S())
    close("avg_Ao = percent", got["percent"], task.avg_Ao())
    units = max(u for u, _, _ in triples) + 1
    matrix = np.zeros((units, coders), dtype=int)
    for u, c, v in triples:
        matrix[u, c] = v
    table, _ = aggregate_raters(matrix, n_cat=k)
    close("statsmodels fleiss_kappa", got["fleiss"], fleiss_kappa(table, method="fleiss"))
    for p in got["pairs"]:
        close(f"kappa_pairwise({p['a']},{p['b']})", p["kappa"], task.kappa_pairwise(p["a"], p["b"]))


def check_pairs(triples, coders, got):
    """Every pair's Cohen kappa (unweighted, linear, quadratic) against statsmodels on its shared
    records; pairs sharing fewer than 2 records must be absent."""
    by_pair = {(p["a"], p["b"]): p for p in got["pairs"]}
    compared = 0
    for a, b in itertools.combinations(range(coders), 2):
        t, shared = pair_table(triples, a, b)
        p = by_pair.get((a, b))
        if shared < 2:
            if p is not None:
                raise CheckFailed(f"pair ({a},{b}) shares {shared} records but is listed")
            continue
        if p is None:
            raise CheckFailed(f"pair ({a},{b}) shares {shared} records but is missing")
        if p["shared"] != shared:
            raise CheckFailed(f"pair ({a},{b}): shared {p['shared']}, want {shared}")
        close(f"agreement({a},{b})", p["agreement"], np.trace(t) / shared)
        if len(t) < 2:
            for w in ("kappa", "linear", "quadratic"):
                if p[w] is not None or "no variation" not in p[w + "_note"]:
                    raise CheckFailed(f"pair ({a},{b}) {w}: want absent for one category, got {p[w]!r}")
            continue
        pe = (t.sum(0) * t.sum(1)).sum() / shared ** 2
        if abs(1 - pe) < 1e-12:
            continue
        close(f"cohen({a},{b})", p["kappa"], cohens_kappa(t).kappa)
        close(f"cohen linear({a},{b})", p["linear"], cohens_kappa(t, wt="linear").kappa)
        close(f"cohen quadratic({a},{b})", p["quadratic"], cohens_kappa(t, wt="quadratic").kappa)
        compared += 1
    if compared == 0:
        raise CheckFailed("no pair compared: the shape is too sparse")


def check_generalised_fleiss(triples, k, got):
    kappa, p_bar = generalised_fleiss(triples, k)
    close("fleiss (varying raters)", got["fleiss"], kappa)
    close("P-bar", got["p_bar"], p_bar)
    close("percent = P-bar", got["percent"], p_bar)


def check_masi(rng, units, coders, labels, p_rate):
    triples = []
    for u in range(units):
        truth = frozenset(rng.sample(range(labels), rng.randint(0, 3)))
        for c in range(coders):
            if rng.random() >= p_rate:
                continue
            s = set(truth)
            if rng.random() < 0.5:
                s ^= {rng.randrange(labels)}
            triples.append((u, c, frozenset(s)))
    got = run_driver(["masi"], [(u, c, ",".join(map(str, sorted(s)))) for u, c, s in triples])
    want = AnnotationTask([(c, u, s) for u, c, s in triples], masi_exact).alpha()
    close("alpha MASI", got["alpha"], want)


ALPHABET = "ab\u00e9\u00fc\u65e5\u672c\U0001F600 "


def check_text(rng, units, coders, p_rate):
    triples = []
    for u in range(units):
        truth = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 8)))
        for c in range(coders):
            if rng.random() >= p_rate:
                continue
            s = list(truth)
            for _ in range(rng.randint(0, 3)):  # a few random edits
                op = rng.randrange(3)
                pos = rng.randint(0, len(s))
                if op == 0:
                    s.insert(pos, rng.choice(ALPHABET))
                elif s and pos < len(s):
                    if op == 1:
                        del s[pos]
                    else:
                        s[pos] = rng.choice(ALPHABET)
            triples.append((u, c, "".join(s)))
    got = run_driver(["text"], triples)
    want = AnnotationTask([(c, u, s) for u, c, s in triples], normalised_edit).alpha()
    close("alpha edit distance", got["alpha"], want)


def check_notes():
    """Too little data gives null with a note, never NaN, and no crash."""
    one = run_driver(["cat", 2, 1, 2], [(0, 0, 0), (1, 0, 1), (2, 0, 1)])
    if one["alpha_nominal"] is not None or one["alpha_nominal_note"] != "only one annotator":
        raise CheckFailed(f"one annotator: {one}")
    if one["pairs"] != [] or one["fleiss"] is not None:
        raise CheckFailed(f"one annotator: {one}")
    same = run_driver(["cat", 2, 1, 2], [(0, 0, 1), (0, 1, 1), (1, 0, 1), (1, 1, 1)])
    for key in ("alpha_nominal", "alpha_ordinal", "alpha_interval", "alpha_ratio", "fleiss"):
        if same[key] is not None or not same[key + "_note"].startswith("no variation"):
            raise CheckFailed(f"no variation, {key}: {same}")
    apart = run_driver(["cat", 2, 1, 2], [(0, 0, 0), (1, 1, 1)])
    if apart["alpha_nominal_note"] != "no pairable records" or apart["percent"] is not None:
        raise CheckFailed(f"nothing pairable: {apart}")


def main():
    checks = Checks("agreement oracle")
    complete = [(40, 2, 2), (60, 3, 4), (100, 5, 6), (25, 4, 3), (200, 2, 5), (150, 3, 7)]
    missing = [(50, 3, 3, 0.6), (80, 5, 5, 0.5), (120, 8, 4, 0.35), (30, 2, 4, 0.8), (200, 6, 7, 0.4),
               (300, 12, 3, 0.25)]
    for i, (units, coders, k) in enumerate(complete):
        rng = random.Random(1000 + i)
        triples = categorical(rng, units, coders, k, 1.0)
        nums = numeric_scale(rng, k)
        got = run_driver(["cat", k] + nums, triples)
        shape = f"complete {units}x{coders} k={k}"
        checks.run(f"{shape}: alpha (NLTK; ordinal by formula)", check_alpha, triples, k, nums, got)
        checks.run(f"{shape}: kappa, multi_kappa, pi, S (NLTK), Fleiss (statsmodels)",
                   check_complete_multi, triples, k, coders, got)
        checks.run(f"{shape}: pairwise Cohen (statsmodels)", check_pairs, triples, coders, got)
    for i, (units, coders, k, p_rate) in enumerate(missing):
        rng = random.Random(2000 + i)
        triples = categorical(rng, units, coders, k, p_rate)
        nums = numeric_scale(rng, k)
        got = run_driver(["cat", k] + nums, triples)
        shape = f"missing {units}x{coders} k={k} p={p_rate}"
        checks.run(f"{shape}: alpha (NLTK; ordinal by formula)", check_alpha, triples, k, nums, got)
        checks.run(f"{shape}: pairwise Cohen on shared records (statsmodels)", check_pairs, triples, coders, got)
        checks.run(f"{shape}: generalised Fleiss (formula)", check_generalised_fleiss, triples, k, got)
    for i, shape in enumerate([(40, 3, 5, 0.8), (100, 5, 6, 0.5), (60, 2, 4, 1.0)]):
        checks.run(f"MASI alpha {shape} (NLTK, exact MASI)", check_masi, random.Random(3000 + i), *shape)
    for i, shape in enumerate([(30, 3, 0.8), (60, 4, 0.5), (25, 2, 1.0)]):
        checks.run(f"edit-distance alpha {shape} (NLTK edit_distance)", check_text, random.Random(4000 + i), *shape)
    checks.run("too little data: notes, no NaN", check_notes)
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
