// Gradient checks for every differentiable Engine op (finite differences, see GradCheck.swift),
// and for the surrogate primitives against their stated formulas evaluated independently here.

import Foundation
import Testing
@testable import Engine

private func rn(_ shape: [Int], _ seed: UInt64, _ std: Float = 1) -> Tensor { GradCheck.randn(shape, seed: seed, std: std) }
private func away(_ shape: [Int], seed: UInt64, lo: Float = 0.2, positive: Bool = false) -> Tensor {
    GradCheck.awayFromZero(shape, seed: seed, lo: lo, positive: positive)
}

@Suite struct GradientCheckTests {
    // MARK: arithmetic

    @Test func broadcastingArithmetic() throws {
        try expectGradients("add [2,3,4]+[4]", [rn([2, 3, 4], 1), rn([4], 2)]) { try $0[0] + $0[1] }
        try expectGradients("sub [3,1]-[1,4]", [rn([3, 1], 3), rn([1, 4], 4)]) { try $0[0] - $0[1] }
        try expectGradients("mul [2,3]*[3]", [rn([2, 3], 5), rn([3], 6)]) { try $0[0] * $0[1] }
        try expectGradients("mul [2,3]*[] scalar tensor", [rn([2, 3], 5), rn([], 6)]) { try $0[0] * $0[1] }
        try expectGradients("div [2,3]/[2,1]", [rn([2, 3], 7), away([2, 1], seed: 8, lo: 0.5)]) { try $0[0] / $0[1] }
    }

    @Test func scalarArithmeticAndNegation() throws {
        try expectGradients("(3x + 1) - 2", [rn([2, 3], 9)]) { ($0[0] * 3 + 1) - 2 }
        try expectGradients("2 - x", [rn([4], 10)]) { 2 - $0[0] }
        try expectGradients("3 / x", [away([4], seed: 11, lo: 0.5)]) { 3 / $0[0] }
        try expectGradients("x / 4", [rn([4], 12)]) { $0[0] / 4 }
        try expectGradients("-x", [rn([3], 13)]) { -$0[0] }
    }

    // MARK: products

    @Test func matmulAllLayouts() throws {
        try expectGradients("matmul [2,3,4]·[4,5]", [rn([2, 3, 4], 20), rn([4, 5], 21)]) { try Variable.matmul($0[0], $0[1]) }
        try expectGradients("matmul [3,4]·[5,4]ᵀ", [rn([3, 4], 22), rn([5, 4], 23)]) { try Variable.matmul($0[0], $0[1], transposeB: true) }
        try expectGradients("matmul [2,3,4]·[5,4]ᵀ", [rn([2, 3, 4], 22), rn([5, 4], 23)]) { try $0[0].matmul($0[1], transposeB: true) }
        try expectGradients("batched [2,3,4]·[2,4,5]", [rn([2, 3, 4], 24), rn([2, 4, 5], 25)]) { try Variable.matmul($0[0], $0[1]) }
        try expectGradients("batched [2,3,4]·[2,5,4]ᵀ", [rn([2, 3, 4], 26), rn([2, 5, 4], 27)]) { try Variable.matmul($0[0], $0[1], transposeB: true) }
        try expectGradients("batched rank 4 [2,2,3,4]·[2,2,3,4]ᵀ", [rn([2, 2, 3, 4], 28), rn([2, 2, 3, 4], 29)]) {
            try Variable.matmul($0[0], $0[1], transposeB: true)
        }
    }

    @Test func linearWithAndWithoutBias() throws {
        try expectGradients("linear x[2,3,4] W[5,4] b[5]", [rn([2, 3, 4], 30), rn([5, 4], 31), rn([5], 32)]) {
            try $0[0].linear(weight: $0[1], bias: $0[2])
        }
        try expectGradients("linear x[3,4] W[2,4]", [rn([3, 4], 33), rn([2, 4], 34)]) { try $0[0].linear(weight: $0[1]) }
    }

    // MARK: elementwise

    @Test func unaryFunctions() throws {
        let x = rn([3, 4], 40, 1.5)
        try expectGradients("exponential", [x]) { $0[0].exponential() }
        try expectGradients("logarithm", [away([3, 4], seed: 41, lo: 0.5, positive: true)]) { $0[0].logarithm() }
        try expectGradients("sigmoid", [x]) { $0[0].sigmoid() }
        try expectGradients("hyperbolicTangent", [x]) { $0[0].hyperbolicTangent() }
        try expectGradients("relu (inputs ≥ 0.2 from the kink)", [away([3, 4], seed: 42)]) { $0[0].relu() }
        try expectGradients("square", [x]) { $0[0].square() }
        try expectGradients("squareRoot", [away([3, 4], seed: 43, lo: 0.5, positive: true)]) { $0[0].squareRoot() }
        try expectGradients("gelu", [rn([3, 4], 44, 2)]) { $0[0].gelu() }
        try expectGradients("absolute (inputs ≥ 0.2 from the kink)", [away([3, 4], seed: 45)]) { $0[0].absolute() }
    }

    // MARK: normalisation

    @Test func softmaxAndLogSoftmax() throws {
        try expectGradients("softmax [3,5]", [rn([3, 5], 50, 2)]) { $0[0].softmax() }
        try expectGradients("logSoftmax [2,2,5]", [rn([2, 2, 5], 51, 2)]) { $0[0].logSoftmax() }
    }

    @Test func layerNormAllInputs() throws {
        // Weights away from 0 and an input spread of 1 keep the normalised values O(1).
        try expectGradients("layerNorm x[2,3,6] w b eps 1e-5",
                            [rn([2, 3, 6], 60), away([6], seed: 61, lo: 0.5), rn([6], 62)]) {
            try $0[0].layerNorm(weight: $0[1], bias: $0[2], eps: 1e-5)
        }
        try expectGradients("layerNorm x[4,8] w, no bias, eps 1e-12 (BERT)", [rn([4, 8], 63, 3), away([8], seed: 64, lo: 0.5)]) {
            try $0[0].layerNorm(weight: $0[1], bias: nil, eps: 1e-12)
        }
    }

    // MARK: gathers and shapes

    @Test func embeddingScatterAddsRepeatedIds() throws {
        try expectGradients("embedding table[5,3] ids [[1,3],[1,4]]", [rn([5, 3], 70)]) {
            try $0[0].embedding(ids: [1, 3, 1, 4], shape: [2, 2])
        }
    }

    @Test func shapeOps() throws {
        try expectGradients("concat axis 1", [rn([2, 2, 3], 80), rn([2, 1, 3], 81)]) { try Variable.concat($0, axis: 1) }
        try expectGradients("concat axis -1", [rn([2, 2], 82), rn([2, 3], 83)]) { try Variable.concat($0, axis: -1) }
        try expectGradients("stack axis 1", [rn([2, 3], 84), rn([2, 3], 85), rn([2, 3], 86)]) { try Variable.stack($0, axis: 1) }
        try expectGradients("slice axis 1 1..<3", [rn([2, 4, 3], 87)]) { try $0[0].slice(axis: 1, 1..<3) }
        try expectGradients("reshape", [rn([2, 6], 88)]) { try $0[0].reshaped([3, -1]) }
        try expectGradients("transpose", [rn([2, 3, 4], 89)]) { try $0[0].transposed(0, 2) }
        try expectGradients("permute [2,0,1]", [rn([2, 3, 4], 90)]) { try $0[0].permuted([2, 0, 1]) }
        // A permuted (non-contiguous) value feeding a matmul exercises the contiguous() paths.
        try expectGradients("transpose then matmul", [rn([4, 3], 91), rn([4, 2], 92)]) {
            try Variable.matmul($0[0].transposed(), $0[1])
        }
    }

    // MARK: reductions

    @Test func reductions() throws {
        let x = rn([2, 3, 4], 100)
        for axis in [0, 1, -1] {
            for keep in [false, true] {
                try expectGradients("sum axis \(axis) keepdims \(keep)", [x]) { try $0[0].sum(axis: axis, keepdims: keep) }
                try expectGradients("mean axis \(axis) keepdims \(keep)", [x]) { try $0[0].mean(axis: axis, keepdims: keep) }
                // Random normal values are distinct, far more than 2h apart with probability ~1
                // (seeded, so this is fixed), so the maximum does not switch under ±h.
                try expectGradients("maximum axis \(axis) keepdims \(keep)", [x], h: 1e-3) { try $0[0].maximum(axis: axis, keepdims: keep) }
            }
        }
        try expectGradients("sum all", [x]) { $0[0].sum() }
        try expectGradients("mean all", [x]) { $0[0].mean() }
        try expectGradients("maximum all", [x], h: 1e-3) { $0[0].maximum() }
    }

    // MARK: losses and dropout

    @Test func losses() throws {
        try expectGradients("crossEntropy [4,5] with ignoreIndex", [rn([4, 5], 110, 2)]) {
            try $0[0].crossEntropy(targets: [1, -100, 3, 0], ignoreIndex: -100)
        }
        try expectGradients("crossEntropy [2,3,5] rows", [rn([2, 3, 5], 111, 2)]) {
            try $0[0].crossEntropy(targets: [0, 1, 2, 3, 4, 4])
        }
        try expectGradients("mse", [rn([3, 4], 112), rn([3, 4], 113)]) { try Variable.mse($0[0], $0[1]) }
    }

    @Test func dropoutUsesTheSameMaskForwardAndBackward() throws {
        // The closure re-seeds, so every finite-difference evaluation draws the same mask.
        try expectGradients("dropout p 0.3", [rn([4, 6], 120)]) {
            var rng = SeededRNG(seed: 7)
            return try $0[0].dropout(p: 0.3, training: true, rng: &rng)
        }
    }

    // MARK: surrogate primitives

    /// Heaviside's true derivative is 0 almost everywhere, so finite differences of the forward say
    /// nothing. Two checks instead: (1) the backward equals α/(2(1+(π/2·α·x)²)) evaluated here in
    /// Double; (2) that formula is the finite-difference derivative of the smooth stand-in
    /// σ(x) = atan(π/2·α·x)/π + 1/2 (so the formula itself is the ATan surrogate's derivative).
    @Test(arguments: [Float(2), 4]) func heavisideATanSurrogate(alpha: Float) throws {
        let x = rn([3, 5], 130, 1)
        let v = Variable(x, requiresGrad: true)
        let y = v.heaviside(alpha: alpha)
        #expect(y.value.values == x.values.map { $0 >= 0 ? 1 : 0 })
        let w = rn([3, 5], 131)
        try y.backward(seed: w)
        let g = try #require(v.grad).values
        let a = Double(alpha), h = 1e-4
        for (i, xi) in x.values.enumerated() {
            let u = Double.pi / 2 * a * Double(xi)
            let formula = Double(w.values[i]) * a / (2 * (1 + u * u))
            #expect(abs(Double(g[i]) - formula) <= 1e-6 * max(1, abs(formula)), "x \(xi): \(g[i]) vs \(formula)")
            let sigma = { (t: Double) in atan(Double.pi / 2 * a * t) / Double.pi + 0.5 }
            let fd = (sigma(Double(xi) + h) - sigma(Double(xi) - h)) / (2 * h) * Double(w.values[i])
            #expect(abs(fd - formula) <= 1e-6 * max(1, abs(formula)), "finite difference of the smooth stand-in at \(xi)")
        }
    }

    /// The quantisers' true derivatives are zero/undefined (piecewise constant), so:
    /// (1) the backward equals the LSQ formula of SpikeLM's released ElasticBiSpiking, written here
    ///     independently in Double; (2) finite differences of the "frozen rounding" stand-in
    ///     F(m, α) = α·clamp(q, lo, 1) + α·c₀ (c₀ = round(q₀) − q₀ at the base point, inside the range;
    ///     0 outside) — its exact derivative is the LSQ gradient — match the backward (α's times k).
    /// Inputs keep q at least 0.05 from region edges (±1, 0) and from the rounding points ±0.5.
    @Test(arguments: [SpikeAlphabet.ternary, .binary]) func elasticSpikeLSQGradient(kind: SpikeAlphabet) throws {
        let alpha: Float = 0.8
        let qs: [Float] = [-2.3, -1.2, -0.9, -0.7, -0.3, -0.1, 0.1, 0.3, 0.45, 0.6, 0.8, 0.95, 1.1, 1.9, 3.0, -0.2]
        let m = try Tensor(shape: [4, 4], values: qs.map { $0 * alpha })
        let w = rn([4, 4], 140)
        let mv = Variable(m, requiresGrad: true), av = Variable(Tensor(scalar: alpha), requiresGrad: true)
        let y = try mv.spike(alpha: av, kind: kind)
        try y.backward(seed: w)
        let gm = try #require(mv.grad).values, ga = try #require(av.grad).item
        let lo: Double = kind == .ternary ? -1 : 0
        let k = 1 / Double(m.count).squareRoot()
        var dAlpha: Double = 0
        for i in 0..<m.count {
            let q = Double(m.values[i]) / Double(alpha)
            let inside = q >= lo && q <= 1
            let rq = (q).rounded(.toNearestOrEven)
            dAlpha += (inside ? rq - q : (q < lo ? lo : 1)) * Double(w.values[i])
            #expect(Double(gm[i]) == (inside ? Double(w.values[i]) : 0), "dm at q = \(q)")
            #expect(y.value.values[i] == Float(min(max(rq, lo), 1)) * alpha, "forward at q = \(q)")
        }
        #expect(abs(Double(ga) - dAlpha * k) <= 1e-5, "dα \(ga) vs formula \(dAlpha * k)")

        // (2) the frozen-rounding stand-in, differentiated numerically in Double.
        let c0 = m.values.map { v -> Double in
            let q = Double(v) / Double(alpha)
            return q >= lo && q <= 1 ? q.rounded(.toNearestOrEven) - q : 0
        }
        func stand(_ mm: [Double], _ a: Double) -> Double {
            var s: Double = 0
            for i in mm.indices { s += (a * min(max(mm[i] / a, lo), 1) + a * c0[i]) * Double(w.values[i]) }
            return s
        }
        let base = m.values.map(Double.init), h = 1e-4
        let fdAlpha = (stand(base, Double(alpha) + h) - stand(base, Double(alpha) - h)) / (2 * h)
        #expect(abs(Double(ga) - fdAlpha * k) <= 1e-4, "dα \(ga) vs finite difference \(fdAlpha * k)")
        for i in base.indices {
            var p = base, q = base
            p[i] += h; q[i] -= h
            let fd = (stand(p, Double(alpha)) - stand(q, Double(alpha))) / (2 * h)
            #expect(abs(Double(gm[i]) - fd) <= 1e-4, "dm[\(i)] \(gm[i]) vs finite difference \(fd)")
        }
    }

    /// Sign variant (released num_bits = 1): out = sign(m)·α, dm = g where |m/α| ≤ 1, dα = k·Σ sign(m)·g.
    @Test func signSpikeGradient() throws {
        let alpha: Float = 0.5
        let m = rn([3, 4], 150)
        let w = rn([3, 4], 151)
        let mv = Variable(m, requiresGrad: true), av = Variable(Tensor([alpha]), requiresGrad: true)
        let y = try mv.spike(alpha: av, kind: .signed)
        try y.backward(seed: w)
        let gm = try #require(mv.grad).values, ga = try #require(av.grad)
        #expect(ga.shape == [1])
        var dAlpha: Double = 0
        for i in 0..<m.count {
            let s: Double = m.values[i] > 0 ? 1 : (m.values[i] < 0 ? -1 : 0)
            dAlpha += s * Double(w.values[i])
            #expect(y.value.values[i] == Float(s) * alpha)
            #expect(gm[i] == (abs(m.values[i] / alpha) <= 1 ? w.values[i] : 0))
        }
        #expect(abs(Double(ga.item) - dAlpha / Double(m.count).squareRoot()) <= 1e-5)
    }
}
