#!/usr/bin/env python3
"""Reference values for keel-math's accuracy tests and benchmark, computed with mpmath.

    python3 crates/keel-math/scripts/gen_reference.py

writes crates/keel-math/tests/data/*.csv (inputs as the kernels' exact binary fixed-point bits,
so every reference is the true value at exactly the input the kernel sees) and
crates/keel-math/benches/data/*.csv (inputs as decimals with at most 12 digits after the point,
exact both for keel-math's I64F64 and for solmath's 1e12 scale, so both libraries are measured
against the same true values). Deterministic: fixed seeds, 50 significant digits.
"""
import os
import random

import mpmath as mp

mp.mp.dps = 50
HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.join(HERE, "..", "tests", "data")
BENCH = os.path.join(HERE, "..", "benches", "data")
TWO64 = mp.mpf(2) ** 64
TWO127 = mp.mpf(2) ** 127
CORR_SCALE = 10**9


def fix_bits(x):
    """Nearest I64F64 bits of x."""
    return int(mp.nint(mp.mpf(x) * TWO64))


def val(bits):
    return mp.mpf(bits) / TWO64


def s(x):
    return mp.nstr(x, 40, strip_zeros=False, min_fixed=-mp.inf, max_fixed=mp.inf)


def phi(x):
    return mp.ncdf(x)


def write(path, header, rows):
    with open(path, "w") as f:
        f.write(header + "\n")
        for r in rows:
            f.write(",".join(str(c) for c in r) + "\n")


def log_uniform(rng, lo, hi):
    return mp.e ** (mp.log(lo) + (mp.log(hi) - mp.log(lo)) * rng.random())


def q_d8x(K, L, M, sp, sig):
    cover = L + M
    if K > 0:
        if cover <= 0:
            return mp.mpf(1)
        return phi((mp.log(K * sp / cover) - sig**2 / 2) / sig)
    if K < 0:
        if cover >= 0:
            return mp.mpf(0)
        return phi((mp.log(-cover / (-K * sp)) + sig**2 / 2) / sig)
    return mp.mpf(0) if cover >= 0 else mp.mpf(1)


def bs_delta(S, K, sig, T):
    v = sig * mp.sqrt(T)
    return phi(mp.log(S / K) / v + v / 2)


def main():
    os.makedirs(TESTS, exist_ok=True)
    os.makedirs(BENCH, exist_ok=True)
    rng = random.Random(20261122)

    # exp over its whole range, dense in the middle
    rows = []
    for i in range(1200):
        x = -45 + (43.6 + 45) * i / 1199
        b = fix_bits(x) + rng.randrange(-2**40, 2**40)
        rows.append((b, s(mp.exp(val(b)))))
    for _ in range(800):
        b = fix_bits(rng.uniform(-1, 1) * 2 ** rng.uniform(-30, 0))
        rows.append((b, s(mp.exp(val(b)))))
    write(os.path.join(TESTS, "exp.csv"), "x_bits,exp", rows)

    # ln from 2^-60 to 2^62, plus the neighbourhood of 1
    rows = []
    for _ in range(1500):
        b = int(mp.nint(mp.mpf(2) ** (rng.uniform(-60, 62) + 64)))
        rows.append((b, s(mp.log(val(b)))))
    for _ in range(500):
        b = 2**64 + int(rng.choice([-1, 1]) * 2 ** rng.uniform(0, 58))
        rows.append((b, s(mp.log(val(b)))))
    write(os.path.join(TESTS, "ln.csv"), "x_bits,ln", rows)

    # pow: bases 1e-6..1e6, exponents 0.01..100 (both signs), only where the result is in range
    rows = []
    while len(rows) < 3000:
        xb = fix_bits(log_uniform(rng, mp.mpf("1e-6"), mp.mpf("1e6")))
        yb = fix_bits(log_uniform(rng, mp.mpf("0.01"), 100) * rng.choice([1, 1, 1, -1]))
        r = val(xb) ** val(yb)
        if r >= 2**62 or r < mp.mpf(2) ** -40:
            continue
        rows.append((xb, yb, s(r)))
    write(os.path.join(TESTS, "pow.csv"), "x_bits,y_bits,pow", rows)

    # normal CDF: a dense grid on [-8, 8], random points, and the tails out to -13.4
    rows = []
    for i in range(3201):
        b = fix_bits(mp.mpf(-8) + mp.mpf(16) * i / 3200)
        rows.append((b, s(phi(val(b)))))
    for _ in range(1000):
        b = fix_bits(rng.uniform(-8, 8))
        rows.append((b, s(phi(val(b)))))
    for _ in range(1000):
        b = fix_bits(-rng.uniform(8, 13.4))
        rows.append((b, s(phi(val(b)))))
    write(os.path.join(TESTS, "norm_cdf.csv"), "x_bits,cdf", rows)

    # inverse normal: p log-uniform in [1e-37, 0.5] and mirrored
    rows = []
    for _ in range(2000):
        p = log_uniform(rng, mp.mpf("1e-37"), mp.mpf("0.5"))
        pb = int(mp.nint(p * TWO127))
        if rng.random() < 0.5:
            pb = 2**127 - pb
        rows.append((pb, s(mp.sqrt(2) * mp.erfinv(2 * mp.mpf(pb) / TWO127 - 1))))
    write(os.path.join(TESTS, "norm_inv.csv"), "p_bits,quantile", rows)

    # Black-Scholes delta
    rows = []
    for _ in range(2000):
        Sb = fix_bits(log_uniform(rng, 1, 100000))
        Kb = fix_bits(val(Sb) * log_uniform(rng, mp.mpf("0.2"), 5))
        sb = fix_bits(rng.uniform(0.05, 2.0))
        tb = fix_bits(log_uniform(rng, mp.mpf(1) / 365, 2))
        rows.append((Sb, Kb, sb, tb, s(bs_delta(val(Sb), val(Kb), val(sb), val(tb)))))
    write(os.path.join(TESTS, "bs_delta.csv"), "s_bits,k_bits,sigma_bits,t_bits,delta", rows)

    # D8X default probability over random pool states
    rows = []
    for _ in range(2000):
        sp = log_uniform(rng, mp.mpf("0.5"), 100000)
        K = rng.choice([1, -1]) * log_uniform(rng, mp.mpf("0.001"), 10000)
        L = K * sp * rng.uniform(0.5, 1.5)
        M = abs(K * sp) * log_uniform(rng, mp.mpf("0.01"), 5)
        sig = rng.uniform(0.005, 0.3)
        bits = [fix_bits(v) for v in (K, L, M, sp, sig)]
        q = q_d8x(*[val(b) for b in bits])
        rows.append((*bits, s(q)))
    write(os.path.join(TESTS, "d8x_q.csv"), "k_bits,l_bits,m_bits,s_bits,sigma_bits,q", rows)

    # Imbalance Score: random portfolios with random PSD correlation matrices
    rows = []
    for _ in range(250):
        n = rng.choice([2, 3, 5, 8, 10, 16, 32])
        f = rng.randint(1, 4)  # factor model: R = normalise(A A^T + D)
        A = mp.matrix(n, f)
        for i in range(n):
            for j in range(f):
                A[i, j] = rng.gauss(0, 1)
        C = A * A.T
        for i in range(n):
            C[i, i] += rng.uniform(0.01, 1)
        upper = []
        for i in range(n):
            for j in range(i + 1, n):
                upper.append(int(mp.nint(C[i, j] / mp.sqrt(C[i, i] * C[j, j]) * CORR_SCALE)))

        def rho(i, j):
            if i == j:
                return mp.mpf(1)
            a, b = min(i, j), max(i, j)
            return mp.mpf(upper[a * (2 * n - a - 1) // 2 + (b - a - 1)]) / CORR_SCALE

        B = [fix_bits(rng.choice([1, -1]) * log_uniform(rng, 1, mp.mpf("1e9"))) for _ in range(n)]
        sig = [fix_bits(log_uniform(rng, mp.mpf("0.001"), mp.mpf("0.1"))) for _ in range(n)]
        K = [val(B[i]) * val(sig[i]) for i in range(n)]
        is2 = mp.fsum(K[i] * rho(i, j) * K[j] for i in range(n) for j in range(n))
        norm = mp.sqrt(mp.fsum(k * k for k in K))
        rows.append((" ".join(map(str, B)), " ".join(map(str, sig)), " ".join(map(str, upper)),
                     s(mp.sqrt(is2)), s(norm)))
    write(os.path.join(TESTS, "imbalance.csv"), "b_bits,sigma_bits,upper_e9,is,norm", rows)

    # Weighted pool: exact out-given-in and in-given-out
    rows = []
    for _ in range(1500):
        bi = int(log_uniform(rng, 10**3, 10**18))
        bo = int(log_uniform(rng, 10**3, 10**18))
        wi = rng.randint(1, 63)  # weights in 64ths: exact in binary, as the kernel sees them
        wo = 64 - wi
        ai = max(1, int(bi * log_uniform(rng, mp.mpf("1e-9"), mp.mpf("0.5"))))
        ao = max(1, int(bo * log_uniform(rng, mp.mpf("1e-9"), mp.mpf("0.5"))))
        out = bo * (1 - (mp.mpf(bi) / (bi + ai)) ** (mp.mpf(wi) / wo))
        inn = bi * ((mp.mpf(bo) / (bo - ao)) ** (mp.mpf(wo) / wi) - 1)
        rows.append((bi, wi, bo, wo, ai, s(out), ao, s(inn)))
    write(os.path.join(TESTS, "weighted.csv"), "bi,wi_64ths,bo,wo_64ths,amount_in,out,amount_out,in", rows)

    # ---- benchmark inputs: decimals with <= 12 fraction digits --------------------------------
    # Each row: the decimal inputs, the reference at those decimals (solmath's exact inputs) and
    # the reference at the inputs rounded to keel-math's types (I64F64, or U1F127 for p).
    def dec(x, digits=12):
        return mp.nstr(mp.mpf(round(x * 10**digits)) / 10**digits, 30, min_fixed=-mp.inf, max_fixed=mp.inf)

    def as_fix(d):
        return val(fix_bits(mp.mpf(d)))

    def as_prob(d):
        return mp.nint(mp.mpf(d) * TWO127) / TWO127

    def bench(name, header, gen, fn, rounders, count=500):
        rows = []
        while len(rows) < count:
            inputs = gen()
            if inputs is None:
                continue
            exact = fn(*[mp.mpf(v) for v in inputs])
            keel = fn(*[r(v) for r, v in zip(rounders, inputs)])
            rows.append((*inputs, s(exact), s(keel)))
        write(os.path.join(BENCH, name + ".csv"), header + ",ref_decimal,ref_keel_input", rows)

    def g_exp():
        return (dec(rng.uniform(-20, 40)),)

    def g_ln():
        x = dec(float(log_uniform(rng, mp.mpf("1e-6"), mp.mpf("1e6"))))
        return None if mp.mpf(x) <= 0 else (x,)

    def g_pow():
        x = dec(float(log_uniform(rng, mp.mpf("1e-6"), mp.mpf("1e6"))))
        y = dec(float(log_uniform(rng, mp.mpf("0.01"), 100)), 6)
        if mp.mpf(x) <= 0:
            return None
        r = mp.mpf(x) ** mp.mpf(y)
        return None if r > mp.mpf("1e12") or r < mp.mpf("1e-6") else (x, y)

    def g_sqrt():
        return (dec(float(log_uniform(rng, mp.mpf("1e-6"), mp.mpf("1e12")))),)

    def g_cdf():
        return (dec(rng.uniform(-8, 8)),)

    def g_inv():
        p = dec(float(log_uniform(rng, mp.mpf("1e-9"), mp.mpf("0.999999999"))))
        return None if not 0 < mp.mpf(p) < 1 else (p,)

    def g_bs():
        S = dec(float(log_uniform(rng, 1, 100000)), 6)
        K = dec(float(mp.mpf(S) * log_uniform(rng, mp.mpf("0.5"), 2)), 6)
        sg = dec(rng.uniform(0.05, 2.0), 6)
        T = dec(float(log_uniform(rng, mp.mpf(1) / 365, 2)), 9)
        return (S, K, sg, T)

    F = as_fix
    bench("exp", "x", g_exp, mp.exp, [F])
    bench("ln", "x", g_ln, mp.log, [F])
    bench("pow", "x,y", g_pow, lambda x, y: x**y, [F, F])
    bench("sqrt", "x", g_sqrt, mp.sqrt, [F])
    bench("norm_cdf", "x", g_cdf, phi, [F])
    bench("norm_inv", "p", g_inv, lambda p: mp.sqrt(2) * mp.erfinv(2 * p - 1), [as_prob])
    bench("bs_delta", "s,k,sigma,t", g_bs, bs_delta, [F, F, F, F])


if __name__ == "__main__":
    main()
