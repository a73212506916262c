// Finite-difference gradient check for Engine ops (test helper).
//
// What it is: for an op y = f(x₁, …, x_k) it forms the scalar L = Σ w ⊙ y with fixed random
// weights w, runs the analytic backward (y.backward(seed: w), so no other op is involved), and
// compares every input's gradient with the central difference
//     ∂L/∂x_j ≈ (L(x + h·e_j) − L(x − h·e_j)) / (2h).
// The op runs in Float (that is what ships); L is accumulated in Double.
// What it is not: a check of non-smooth surrogates (Heaviside, spike quantisers): those are
// checked against their stated formulas in GradientCheckTests.
//
// Tolerance: pass when |analytic − numeric| ≤ atol + rtol·max(|analytic|, |numeric|) with
// h = 1e-2, rtol = 1e-2, atol = 2e-3 by default. Why: Float rounding in y is ≈ 6e-8 relative per
// element; with |L| = O(10) the noise in L is ≈ 1e-6, /(2h) ≈ 5e-5 absolute. The truncation error
// of the central difference is h²/6·|f'''| ≈ 2e-5·|f'''|. Both sit ≥ 20× under the tolerance, while
// a wrong gradient (missing factor, wrong sign, wrong index) is off by O(1) relative.

import Foundation
import Testing
@testable import Engine

struct GradCheckReport: CustomStringConvertible {
    var worst: Float = 0          // worst |a − n| / (atol + rtol·max(|a|,|n|)); ≤ 1 passes
    var worstInput = -1, worstIndex = -1
    var analytic: Float = 0, numeric: Float = 0
    var checked = 0
    var passed: Bool { worst <= 1 && checked > 0 }
    var description: String {
        "checked \(checked) partials; worst ratio \(worst) at input \(worstInput)[\(worstIndex)]: analytic \(analytic) vs numeric \(numeric)"
    }
}

enum GradCheck {
    /// Random normal tensor (test data).
    static func randn(_ shape: [Int], seed: UInt64, std: Float = 1) -> Tensor {
        var rng = SeededRNG(seed: seed)
        return Tensor.randomNormal(shape, std: std, rng: &rng)
    }

    /// Random values with |x| in [lo, hi] and random sign (keeps inputs off kinks such as 0).
    static func awayFromZero(_ shape: [Int], seed: UInt64, lo: Float = 0.2, hi: Float = 2, positive: Bool = false) -> Tensor {
        var rng = SeededRNG(seed: seed)
        return Tensor(shape: shape) { _ in
            let m = lo + (hi - lo) * rng.nextUniform()
            return positive || rng.nextUniform() < 0.5 ? m : -m
        }
    }

    /// L = Σ w ⊙ f(inputs) in Double, with recording off.
    static func loss(_ inputs: [Tensor], _ w: Tensor, _ f: ([Variable]) throws -> Variable) throws -> Double {
        let y = try withNoGrad { try f(inputs.map { Variable($0) }) }.value
        let yv = y.values, wv = w.values
        var s: Double = 0
        for i in 0..<yv.count { s += Double(yv[i]) * Double(wv[i]) }
        return s
    }

    /// Checks the analytic gradients of every input in `grad` (default: all) against central differences.
    static func check(_ inputs: [Tensor], grad: Set<Int>? = nil, h: Float = 1e-2, rtol: Float = 1e-2, atol: Float = 2e-3,
                      seed: UInt64 = 99, _ f: ([Variable]) throws -> Variable) throws -> GradCheckReport {
        let wanted = grad ?? Set(inputs.indices)
        let leaves = inputs.enumerated().map { Variable($0.element, requiresGrad: wanted.contains($0.offset)) }
        let y = try f(leaves)
        let w = randn(y.shape, seed: seed)
        try y.backward(seed: w)
        var report = GradCheckReport()
        for k in inputs.indices where wanted.contains(k) {
            let analytic = leaves[k].grad?.values ?? [Float](repeating: 0, count: inputs[k].count)
            for j in 0..<inputs[k].count {
                var plus = inputs, minus = inputs
                plus[k] = try perturbed(inputs[k], j, h)
                minus[k] = try perturbed(inputs[k], j, -h)
                let n = Float((try loss(plus, w, f) - loss(minus, w, f)) / (2 * Double(h)))
                let a = analytic[j]
                let ratio = abs(a - n) / (atol + rtol * max(abs(a), abs(n)))
                report.checked += 1
                if ratio > report.worst || report.worstInput < 0 {
                    report.worst = max(report.worst, ratio)
                    report.worstInput = k; report.worstIndex = j; report.analytic = a; report.numeric = n
                }
            }
        }
        return report
    }

    static func perturbed(_ t: Tensor, _ j: Int, _ d: Float) throws -> Tensor {
        var v = t.values
        v[j] += d
        return try Tensor(shape: t.shape, values: v)
    }
}

/// Runs the check and records a failure naming the op and the worst partial.
func expectGradients(_ name: String, _ inputs: [Tensor], grad: Set<Int>? = nil, h: Float = 1e-2,
                     rtol: Float = 1e-2, atol: Float = 2e-3,
                     sourceLocation: SourceLocation = #_sourceLocation,
                     _ f: ([Variable]) throws -> Variable) throws {
    let r = try GradCheck.check(inputs, grad: grad, h: h, rtol: rtol, atol: atol, f)
    #expect(r.passed, "\(name): \(r)", sourceLocation: sourceLocation)
}
