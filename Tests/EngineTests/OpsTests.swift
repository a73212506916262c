// Forward values of the Engine ops against hand-computed or independently computed (Double,
// Foundation) values, plus autograd behaviour: accumulation, no-grad scopes, shape errors.

import Foundation
import Testing
@testable import Engine

private func rn(_ shape: [Int], _ seed: UInt64, _ std: Float = 1) -> Tensor { GradCheck.randn(shape, seed: seed, std: std) }

@Suite struct OpsTests {
    // MARK: softmax family

    @Test func softmaxRowsSumToOneAndMatchTheFormula() throws {
        let x = rn([4, 7], 1, 3)
        let y = x.softmaxLastAxis()
        let xv = x.values, yv = y.values
        for r in 0..<4 {
            let row = (0..<7).map { Double(xv[r * 7 + $0]) }
            let z = row.map { Foundation.exp($0) }.reduce(0, +)
            var s: Float = 0
            for i in 0..<7 {
                s += yv[r * 7 + i]
                #expect(abs(Double(yv[r * 7 + i]) - Foundation.exp(row[i]) / z) < 1e-6)
            }
            #expect(abs(s - 1) < 1e-6)
        }
        var inPlace = x
        inPlace.applySoftmaxLastAxis()
        #expect(try inPlace.maxAbsDifference(y) == 0)
    }

    @Test func softmaxIsStableForHugeLogits() throws {
        let x = try Tensor(shape: [1, 3], values: [1000, 1001, 1002])
        let y = x.softmaxLastAxis().values
        // e^0, e^1, e^2 normalised (shift invariance); Double reference.
        let e = [0.0, 1, 2].map { Foundation.exp($0) }, z = e.reduce(0, +)
        for i in 0..<3 { #expect(abs(Double(y[i]) - e[i] / z) < 1e-6) }
        let ls = x.logSoftmaxLastAxis().values
        // x − logsumexp(x) subtracts two numbers near 1000, where Float spacing is 6.1e-5.
        for i in 0..<3 { #expect(abs(Double(ls[i]) - Foundation.log(e[i] / z)) < 1e-4) }
    }

    // MARK: LayerNorm

    @Test func layerNormNormalisesRows() throws {
        let x = rn([3, 16], 2, 5) + 10
        let y = try x.layerNorm(weight: Tensor(repeating: 1, shape: [16]), bias: Tensor(zeros: [16]), eps: 1e-12)
        let v = y.values
        for r in 0..<3 {
            let row = v[(r * 16)..<(r * 16 + 16)].map(Double.init)
            let mean = row.reduce(0, +) / 16
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 16
            #expect(abs(mean) < 1e-6)
            #expect(abs(variance - 1) < 1e-5)
        }
    }

    @Test func layerNormWeightBiasAndEpsMatchDoubleFormula() throws {
        let x = rn([2, 5], 3), w = rn([5], 4), b = rn([5], 5)
        for eps: Float in [1e-5, 1e-12, 0.5] {
            let y = try x.layerNorm(weight: w, bias: b, eps: eps).values
            let vy = try Variable(x).layerNorm(weight: Variable(w), bias: Variable(b), eps: eps).value.values
            for r in 0..<2 {
                let row = (0..<5).map { Double(x.values[r * 5 + $0]) }
                let mu = row.reduce(0, +) / 5
                let va = row.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / 5
                for i in 0..<5 {
                    let ref = (row[i] - mu) / (va + Double(eps)).squareRoot() * Double(w.values[i]) + Double(b.values[i])
                    #expect(abs(Double(y[r * 5 + i]) - ref) < 1e-5, "eps \(eps) row \(r) col \(i)")
                    #expect(y[r * 5 + i] == vy[r * 5 + i], "Tensor and Variable forward agree")
                }
            }
        }
        // A constant row with BERT's eps stays finite and returns the bias.
        let flat = try Tensor(repeating: 3, shape: [1, 5]).layerNorm(weight: w, bias: b, eps: 1e-12).values
        #expect(flat == b.values)
    }

    // MARK: elementwise

    @Test(arguments: [-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 4.0])
    func geluMatchesExactErfForm(x: Double) throws {
        let ref = 0.5 * x * (1 + erf(x / 2.0.squareRoot()))
        let y = Tensor([Float(x)]).gelu().item
        #expect(abs(Double(y) - ref) < 1e-6, "gelu(\(x)) = \(y), Double reference \(ref)")
        var t = Tensor([Float(x)])
        t.applyGELU()
        #expect(t.item == y)
    }

    @Test func unaryForwardValues() throws {
        let x = try Tensor(shape: [4], values: [-2, -0.5, 0.25, 3])
        let xd = x.values.map(Double.init)
        func close(_ t: Tensor, _ f: (Double) -> Double, _ name: String) {
            for (a, v) in zip(t.values, xd) { #expect(abs(Double(a) - f(v)) <= 1e-6 * max(1, abs(f(v))), "\(name)(\(v))") }
        }
        close(x.exponential(), { Foundation.exp($0) }, "exp")
        close(x.sigmoid(), { 1 / (1 + Foundation.exp(-$0)) }, "sigmoid")
        close(x.hyperbolicTangent(), { Foundation.tanh($0) }, "tanh")
        close(x.relu(), { max($0, 0) }, "relu")
        close(x.square(), { $0 * $0 }, "square")
        close(x.absolute(), { Swift.abs($0) }, "abs")
        close(x.absolute().logarithm(), { Foundation.log(Swift.abs($0)) }, "log|x|")
        close(x.absolute().squareRoot(), { Swift.abs($0).squareRoot() }, "sqrt|x|")
        // sigmoid of large negative inputs does not overflow to NaN.
        #expect(Tensor([-100, 100]).sigmoid().values.allSatisfy { $0.isFinite })
    }

    // MARK: reductions

    @Test func reductionsByHand() throws {
        let x = try Tensor(shape: [2, 3], values: [1, 5, 3, 4, 2, 6])
        #expect(try x.sum(axis: 0).values == [5, 7, 9])
        #expect(try x.sum(axis: 1, keepdims: true).shape == [2, 1])
        #expect(try x.sum(axis: -1).values == [9, 12])
        #expect(try x.mean(axis: 1).values == [3, 4])
        #expect(try x.maximum(axis: 1).values == [5, 6])
        #expect(try x.maximum(axis: 0, keepdims: true).values == [4, 5, 6])
        #expect(try x.argmaxLastAxis() == [1, 2])
        #expect(x.sum().item == 21 && x.sum().shape == [])
        #expect(x.mean().item == 3.5)
        #expect(x.maximum().item == 6)
        #expect(throws: EngineError.self) { try x.sum(axis: 2) }
    }

    // MARK: products

    @Test func matmulTransposedAMatchesLoops() throws {
        let a = rn([2, 5, 3], 6), b = rn([2, 5, 4], 7)
        let c = try Tensor.matmulTransposedA(a, b)
        #expect(c.shape == [2, 3, 4])
        for bi in 0..<2 { for i in 0..<3 { for j in 0..<4 {
            var s: Double = 0
            for r in 0..<5 { s += Double(a[bi, r, i]) * Double(b[bi, r, j]) }
            #expect(abs(Double(c[bi, i, j]) - s) < 1e-5)
        } } }
    }

    @Test func linearMatchesLoopsAndVariable() throws {
        let x = rn([2, 3, 4], 8), w = rn([5, 4], 9), b = rn([5], 10)
        let y = try x.linear(weight: w, bias: b)
        #expect(y.shape == [2, 3, 5])
        for i in 0..<2 { for t in 0..<3 { for o in 0..<5 {
            var s = Double(b[o])
            for k in 0..<4 { s += Double(x[i, t, k]) * Double(w[o, k]) }
            #expect(abs(Double(y[i, t, o]) - s) < 1e-5)
        } } }
        let vy = try Variable(x).linear(weight: Variable(w), bias: Variable(b)).value
        #expect(try vy.maxAbsDifference(y) < 1e-6)
    }

    // MARK: gathers and shapes

    @Test func embeddingConcatStackSlice() throws {
        let table = Tensor(shape: [4, 2]) { Float($0) }  // rows [0,1] [2,3] [4,5] [6,7]
        let e = try table.embedding(ids: [3, 0, 3], shape: [1, 3])
        #expect(e.shape == [1, 3, 2] && e.values == [6, 7, 0, 1, 6, 7])
        #expect(throws: EngineError.self) { try table.embedding(ids: [4]) }

        let a = try Tensor(shape: [2, 2], values: [1, 2, 3, 4]), b = try Tensor(shape: [2, 1], values: [9, 8])
        #expect(try Tensor.concat([a, b], axis: 1).values == [1, 2, 9, 3, 4, 8])
        #expect(try Tensor.concat([a, a], axis: 0).shape == [4, 2])
        let s = try Tensor.stack([a, a * 10], axis: 1)
        #expect(s.shape == [2, 2, 2] && s.values == [1, 2, 10, 20, 3, 4, 30, 40])
        let v = try Variable(Tensor(shape: [2, 4]) { Float($0) }).slice(axis: 1, 1..<3)
        #expect(v.shape == [2, 2] && v.value.values == [1, 2, 5, 6])
    }

    // MARK: losses

    @Test func crossEntropyMatchesDirectFormula() throws {
        let z = rn([3, 4], 11, 2)
        let targets = [2, 0, -1]
        let loss = try z.crossEntropy(targets: targets, ignoreIndex: -1)
        var ref: Double = 0
        for r in 0..<2 {
            let row = (0..<4).map { Double(z[r, $0]) }
            ref += Foundation.log(row.map { Foundation.exp($0) }.reduce(0, +)) - row[targets[r]]
        }
        #expect(abs(Double(loss) - ref / 2) < 1e-5)
        let v = try Variable(z).crossEntropy(targets: targets, ignoreIndex: -1)
        #expect(v.shape == [] && v.value.item == loss)
        // All rows ignored: 0 and a zero gradient (documented; PyTorch gives NaN).
        let p = Variable(z, requiresGrad: true)
        let l0 = try p.crossEntropy(targets: [-1, -1, -1], ignoreIndex: -1)
        try l0.backward()
        #expect(l0.value.item == 0 && p.grad?.values.allSatisfy { $0 == 0 } == true)
        #expect(throws: EngineError.self) { try z.crossEntropy(targets: [0, 4, 1]) }
        #expect(throws: EngineError.self) { try z.crossEntropy(targets: [0, 1]) }
    }

    @Test func mseByHand() throws {
        let a = Variable(Tensor([1, 2, 3])), b = Variable(Tensor([1, 0, 6]))
        #expect(try Variable.mse(a, b).value.item == Float(0 + 4 + 9) / 3)
    }

    // MARK: dropout

    @Test func dropoutKeepsAboutOneMinusPAndScales() throws {
        let x = Tensor(repeating: 2, shape: [10_000])
        var rng = SeededRNG(seed: 3)
        let y = try x.dropout(p: 0.25, training: true, rng: &rng).values
        let kept = y.filter { $0 != 0 }
        #expect(kept.allSatisfy { abs($0 - 2 / 0.75) < 1e-6 })
        // Binomial(10000, 0.75): sd ≈ 43, so ±250 is about 6 sd.
        #expect(abs(kept.count - 7500) < 250)
        var r1 = SeededRNG(seed: 3), r2 = SeededRNG(seed: 3)
        #expect(try x.dropout(p: 0.25, training: true, rng: &r1).values == x.dropout(p: 0.25, training: true, rng: &r2).values)
        var r3 = SeededRNG(seed: 3)
        #expect(try x.dropout(p: 0.25, training: false, rng: &r3).values == x.values)
        #expect(r3 == SeededRNG(seed: 3), "no draw when not training")
        let v = Variable(x)
        #expect(try v.dropout(p: 0, training: true, rng: &r3) === v)
        #expect(throws: EngineError.self) { try x.dropout(p: 1.5, training: true, rng: &r3) }
    }

    // MARK: spikes

    @Test func ternarySpikeRoundsHalfToEvenAndClamps() throws {
        let alpha: Float = 2
        // q = m/α: 0.5 → 0, 1.5 → 2 → 1, −0.5 → 0, −1.5 → −2 → −1, 2.5 → 1, 0.49 → 0, −3 → −1, 0.51 → 1
        let q: [Float] = [0.5, 1.5, -0.5, -1.5, 2.5, 0.49, -3, 0.51]
        let y = Tensor(q.map { $0 * alpha }).ternarySpike(alpha: alpha).values
        #expect(y == [0, 1, 0, -1, 1, 0, -1, 1].map { $0 * alpha })
        let bin = Tensor(q.map { $0 * alpha }).spike(alpha: alpha, kind: .binary).values
        #expect(bin == [0, 1, 0, 0, 1, 0, 0, 1].map { $0 * alpha })
        let sg = Tensor([-0.1, 0, 5]).spike(alpha: alpha, kind: .signed).values
        #expect(sg == [-alpha, 0, alpha])
        // α is floored at 1e-5 (released code), so α = 0 does not divide by zero.
        let tiny = Tensor([1e-5, -1]).ternarySpike(alpha: 0).values
        #expect(tiny == [1e-5, -1e-5])
        #expect(throws: EngineError.self) { try Variable(Tensor([1])).ternarySpike(alpha: Variable(Tensor([1, 2]))) }
        #expect(Tensor([-0.1, 0, 0.1]).heaviside().values == [0, 1, 1])
    }

    /// Regression: a one-element, non-contiguous operand (strides [1, 3], offset 5) used to be
    /// read at its old offset after `contiguous()` had copied it to offset 0 (out of bounds).
    @Test func broadcastOfANonContiguousOneElementView() throws {
        let base = Tensor(shape: [2, 3]) { Float($0) }
        let one = try base.transposed().slice(axis: 0, 2..<3).slice(axis: 1, 1..<2)  // = base[1, 2] = 5
        #expect(one.shape == [1, 1] && !one.isContiguous)
        let a = Tensor(zeros: [2, 2])
        #expect(try (a + one).values == [5, 5, 5, 5])
    }

    // MARK: autograd behaviour

    @Test func twoBackwardPassesAccumulate() throws {
        let x = Variable(Tensor([1, 2, 3]), requiresGrad: true)
        try (x * 2).sum().backward()
        #expect(x.grad?.values == [2, 2, 2])
        try x.square().sum().backward()
        #expect(x.grad?.values == [4, 6, 8])  // 2 + 2x
        x.zeroGrad()
        #expect(x.grad == nil)
    }

    @Test func noGradScopeRecordsNothing() throws {
        let x = Variable(Tensor([1, 2, 3]), requiresGrad: true)
        let y = try withNoGrad { try (x * x).softmax().layerNorm(weight: Variable(Tensor([1, 1, 1])), bias: nil).sum() }
        #expect(!y.requiresGrad && y.parents.isEmpty)
        let z = try x * x
        #expect(z.requiresGrad && z.parents.count == 2)
        let c = Variable(Tensor([1, 2, 3])).exponential()
        #expect(!c.requiresGrad, "constants in, constant out")
    }

    @Test func shapeMismatchesThrowNamingBothShapes() throws {
        let a = Variable(Tensor(zeros: [2, 3]), requiresGrad: true), b = Variable(Tensor(zeros: [4, 5]))
        let cases: [(String, () throws -> Variable)] = [
            ("add", { try a + b }),
            ("mul", { try a * b }),
            ("matmul", { try Variable.matmul(a, b) }),
            ("mse", { try Variable.mse(a, b) }),
            ("concat", { try Variable.concat([a, b], axis: 0) }),
            ("layerNorm", { try a.layerNorm(weight: Variable(Tensor(zeros: [4, 5])), bias: nil) }),
            ("linear", { try a.linear(weight: b) }),
        ]
        for (name, f) in cases {
            do { _ = try f(); Issue.record("\(name): expected a throw") } catch let e as EngineError {
                let m = e.description
                #expect(m.contains("[2, 3]") && m.contains("[4, 5]"), "\(name): \(m)")
            }
        }
    }
}

// MARK: - PyTorch reference (Tests/Reference/ops_reference.py → Fixtures/ops_reference.json)

private struct RefTensor: Decodable {
    let shape: [Int]
    let values: [Double]
    var tensor: Tensor { get throws { try Tensor(shape: shape, values: values.map(Float.init)) } }
}

private struct RefCase: Decodable {
    let inputs: [String: RefTensor]
    let outputs: [String: RefTensor]
}

/// Compares Engine (Float32) with PyTorch (Float64, same float32-representable inputs) on forward
/// values and on the gradients of L = Σ g ⊙ y. Tolerance |a − r| ≤ 1e-4·max(1, |r|): Float32
/// rounding through these short rows (≤ 8 terms, exp/erf/log) stays around 1e-6 relative, while a
/// wrong formula is off by ≥ 1e-2.
@Suite struct OpsReferenceTests {
    private static func load() throws -> [String: RefCase] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Reference/Fixtures/ops_reference.json")
        return try JSONDecoder().decode([String: RefCase].self, from: Data(contentsOf: url))
    }

    /// Runs `f` on leaves made from the case's inputs, backpropagates the case's `g`, and compares.
    private func compare(_ name: String, _ f: ([String: Variable]) throws -> Variable) throws {
        let c = try #require(try Self.load()[name], "fixture case \(name)")
        var leaves: [String: Variable] = [:]
        for (k, v) in c.inputs { leaves[k] = Variable(try v.tensor, requiresGrad: true) }
        let y = try f(leaves)
        try y.backward(seed: try #require(c.outputs["g"]).tensor.reshaped(y.shape))
        var checked = ["y": y.value]
        for (k, v) in leaves { checked["d_" + k] = v.grad ?? Tensor(zeros: v.shape) }
        for (key, got) in checked {
            let ref = try #require(c.outputs[key], "\(name): no reference for \(key)")
            #expect(got.count == ref.values.count, "\(name).\(key) size")
            var worst: Double = 0
            for (a, r) in zip(got.values, ref.values) { worst = max(worst, abs(Double(a) - r) / max(1, abs(r))) }
            #expect(worst <= 1e-4, "\(name).\(key): worst relative difference \(worst)")
        }
    }

    @Test(arguments: [("layernorm_eps1e-12", Float(1e-12)), ("layernorm_eps1e-05", Float(1e-5))])
    func layerNorm(name: String, eps: Float) throws {
        try compare(name) { try $0["x"]!.layerNorm(weight: $0["w"]!, bias: $0["b"]!, eps: eps) }
    }

    @Test func gelu() throws { try compare("gelu") { $0["x"]!.gelu() } }

    @Test func crossEntropyIgnoringPadding() throws {
        try compare("cross_entropy") { try $0["z"]!.crossEntropy(targets: [3, -100, 0, 6, 2], ignoreIndex: -100) }
    }

    @Test func attentionCore() throws {
        try compare("attention") { v in
            let s = try Variable.matmul(v["q"]!, v["k"]!, transposeB: true) * 0.5
            return try Variable.matmul(s.softmax(), v["v"]!)
        }
    }

    @Test func linearThenLogSoftmax() throws {
        try compare("linear_logsoftmax") { try $0["x"]!.linear(weight: $0["w"]!, bias: $0["b"]!).logSoftmax() }
    }

    /// PyTorch side: the LSQ autograd expression (straight-through round, gradient-scaled α), an
    /// independent route to the released ElasticBiSpiking backward; includes q = ±0.5, ±1.5, 2.5.
    @Test func ternarySpikeAgainstLSQAutograd() throws {
        try compare("ternary_spike") { try $0["m"]!.ternarySpike(alpha: $0["alpha"]!) }
    }
}
