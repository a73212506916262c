// The fused spiking site (`spikeSequence(alphas:…)`) against the same site composed from
// per-timestep Variables (`spike(alpha:kind:)`, products and sums: the form the training graph
// used before), and the smooth firing rate against finite differences (it is smooth) and a
// direct evaluation of its formula.

import Foundation
import Testing
@testable import Engine

@Suite struct SpikeSequenceTests {
    /// The site built step by step from independent ops (the reference).
    static func composed(_ x: Variable, alphas: [Variable], kind: SpikeAlphabet, recurrent: Bool, r: Float,
                         valid: [Bool]?, softRate: Bool) throws -> (spikes: Variable, soft: Variable?) {
        let T = x.shape[0]
        var outs: [Variable] = [], softs: [Variable] = []
        var m: Variable?
        var ampPrev: Float = 0
        for t in 0..<T {
            let xt = try x.slice(axis: 0, t..<(t + 1))
            if recurrent, let prev = m, let oPrev = outs.last {
                m = try prev * Variable(oPrev.value.map { r * (ampPrev - $0) }) + xt
            } else {
                m = xt
            }
            outs.append(try m!.spike(alpha: alphas[t], kind: kind))
            ampPrev = max(alphas[t].value.item, spikeAlphaFloor)
            if softRate { softs.append(try m!.softFiringRate(alpha: alphas[t], kind: kind, validRows: valid)) }
        }
        var soft: Variable?
        if softRate {
            var sum = softs[0]
            for v in softs.dropFirst() { sum = try sum + v }
            soft = sum * (1 / Float(T))
        }
        return (T == 1 ? outs[0] : try Variable.concat(outs, axis: 0), soft)
    }

    @Test("fused site = composed site: spikes, dx and every dα bit for bit; with the rate in the loss ≤ 1e-5",
          arguments: [(SpikeAlphabet.ternary, true), (.ternary, false), (.binary, true), (.signed, true)])
    func fusedEqualsComposed(kind: SpikeAlphabet, recurrent: Bool) throws {
        let T = 4, B = 2, L = 3, F = 5
        let x = GradCheck.randn([T, B, L, F], seed: 7, std: 1.3)
        let valid = [true, true, false, true, false, true]
        let w = GradCheck.randn([T, B, L, F], seed: 8)
        let alphaValues: [Float] = [0.9, 0.7, 1.1, 0.8]
        func run(fused: Bool) throws -> (y: [Float], dx: [Float], da: [Float], rate: Float, rdx: [Float], rda: [Float]) {
            let xv = Variable(x, requiresGrad: true)
            let alphas = alphaValues.map { Variable(Tensor([$0]), requiresGrad: true) }
            let (y, soft): (Variable, Variable?)
            if fused {
                let res = try xv.spikeSequence(alphas: alphas, kind: kind, recurrent: recurrent, resetFactor: 0.25, validRows: valid, softRate: true)
                (y, soft) = (res.spikes, res.softRate)
            } else {
                (y, soft) = try Self.composed(xv, alphas: alphas, kind: kind, recurrent: recurrent, r: 0.25, valid: valid, softRate: true)
            }
            try (y * Variable(w)).sum().backward()
            let dx = xv.grad?.contiguous().values ?? [], da = alphas.map { $0.grad?.item ?? 0 }
            // Spikes and rate together (the rate's gradient rides on the spikes' backward).
            let xr = Variable(x, requiresGrad: true)
            let ar = alphaValues.map { Variable(Tensor([$0]), requiresGrad: true) }
            let (y2, s2): (Variable, Variable?)
            if fused {
                let res = try xr.spikeSequence(alphas: ar, kind: kind, recurrent: recurrent, resetFactor: 0.25, validRows: valid, softRate: true)
                (y2, s2) = (res.spikes, res.softRate)
            } else {
                (y2, s2) = try Self.composed(xr, alphas: ar, kind: kind, recurrent: recurrent, r: 0.25, valid: valid, softRate: true)
            }
            let rate = try #require(s2)
            try ((y2 * Variable(w)).sum() + rate * 7).backward()
            return (y.value.contiguous().values, dx, da, soft?.value.item ?? -1, xr.grad?.contiguous().values ?? [Float](repeating: 0, count: x.count),
                    ar.map { $0.grad?.item ?? 0 })
        }
        let f = try run(fused: true), c = try run(fused: false)
        #expect(f.y == c.y)
        #expect(f.dx == c.dx)
        #expect(f.da == c.da)
        #expect(abs(f.rate - c.rate) <= 1e-6)
        #expect(zip(f.rdx, c.rdx).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) })
        #expect(zip(f.rda, c.rda).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) })
        if kind != .signed { #expect(zip(f.rdx, f.dx).contains { $0 != $1 }, "the rate added no gradient") }
        #expect(f.y.contains { $0 != 0 } && f.dx.contains { $0 != 0 })
    }

    @Test("an α of 0 is calibrated on this batch: max(2·mean|m_t| over valid rows, 1e-5), in order over t")
    func calibration() throws {
        let x = GradCheck.randn([2, 1, 2, 3], seed: 3)
        let alphas = [Variable(Tensor([0]), requiresGrad: true), Variable(Tensor([0]), requiresGrad: true)]
        let r = try Variable(x).spikeSequence(alphas: alphas, recurrent: true, resetFactor: 0.25, validRows: [true, false])
        let xs = x.values
        let a0 = 2 * Float(xs[0..<3].reduce(0.0) { $0 + Double(abs($1)) } / 3)
        #expect(alphas[0].value.item == a0)
        // m_1 = x_0·0.25·(α0 − o_0) + x_1 on the valid row.
        let o0 = r.spikes.value.contiguous().values
        let m1 = (0..<3).map { xs[$0] * (0.25 * (a0 - o0[$0])) + xs[6 + $0] }
        let a1 = 2 * Float(m1.reduce(0.0) { $0 + Double(abs($1)) } / 3)
        #expect(abs(alphas[1].value.item - a1) <= 1e-6 * a1)
        #expect(r.cells == 6)
        #expect(r.fired == (0..<3).filter { o0[$0] != 0 }.count + (0..<3).filter { o0[6 + $0] != 0 }.count)
    }

    @Test("smooth rate: value by its formula, gradients by central differences (T = 1, ternary and binary)")
    func softRateGradients() throws {
        for kind in [SpikeAlphabet.ternary, .binary] {
            let m = GradCheck.randn([2, 3], seed: 11, std: 0.8)
            let alpha: Float = 0.9, beta: Float = 8
            let v = try Variable(m).softFiringRate(alpha: Variable(Tensor([alpha])), kind: kind, sharpness: beta, validRows: [true, false]).value.item
            var want = 0.0
            for i in 0..<3 {
                let q = m.values[i] / alpha
                want += 1 / (1 + exp(-Double(beta) * (Double(kind == .ternary ? abs(q) : q) - 0.5)))
            }
            #expect(abs(Double(v) - want / 3) <= 1e-6)
            try expectGradients("softFiringRate \(kind)", [m, Tensor([alpha])], h: 1e-3, rtol: 2e-2, atol: 1e-4) {
                try $0[0].softFiringRate(alpha: $0[1], kind: kind, sharpness: beta, validRows: [true, false])
            }
        }
    }
}
