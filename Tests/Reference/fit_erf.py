#!/usr/bin/env python3
"""Fits the erf polynomials of Sources/CKernels/gelu.c and prints them as C float literals.

erf(a) = a·P1(a²) for 0 ≤ a < 2 (degree 9), P2(a − 3) for 2 ≤ a < 3.95 (degree 11): least squares
(numpy.polyfit) on 40001 points against math.erf, then the max |error| of the float32 FMA-Horner
evaluation (what gelu.c runs) over [0, 4.5]. Re-runnable; needs numpy only.
"""
from math import erf

import numpy as np

verf = np.vectorize(erf)
t = np.linspace(0, 4, 40001)
x = np.sqrt(t)
y = np.where(x > 0, verf(x) / np.maximum(x, 1e-30), 2 / np.sqrt(np.pi))
c1 = np.polyfit(t, y, 9)
x2 = np.linspace(2, 3.95, 40001)
c2 = np.polyfit(x2 - 3, verf(x2), 11)
c1f, c2f = c1.astype(np.float32), c2.astype(np.float32)


def horner(c, v):
    acc = np.float32(c[0])
    for k in c[1:]:
        acc = np.float32(np.float64(acc) * np.float64(v) + np.float64(k))  # one rounding, like fmaf
    return acc


def erf32(a):
    a = np.float32(a)
    if a < 2:
        return np.float32(horner(c1f, np.float32(a * a)) * a)
    if a < 3.95:
        return horner(c2f, np.float32(a - np.float32(3)))
    return np.float32(1)


xs = np.linspace(0, 4.5, 30001).astype(np.float32)
print("max |float32 erf - math.erf| = %.3g" % max(abs(float(erf32(v)) - erf(float(v))) for v in xs))
print("P1", ", ".join("%.9ef" % v for v in c1))
print("P2", ", ".join("%.9ef" % v for v in c2))
