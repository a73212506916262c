// The logits distillation term of fine-tuning (Training/FineTune.swift): its value is
// τ²·mean over rows of KL(softmax(t/τ) ‖ softmax(s/τ)) computed here in Double from the
// definition, and its gradient matches central differences.

import Foundation
import Testing
@testable import Training
import Engine

@Suite struct FineTuneObjectiveTests {
    static func kl(_ s: [Float], _ t: [Float], rows: Int, tau: Double) -> Double {
        let k = s.count / rows
        var total = 0.0
        for r in 0..<rows {
            let zs = s[(r * k)..<((r + 1) * k)].map { Double($0) / tau }, zt = t[(r * k)..<((r + 1) * k)].map { Double($0) / tau }
            let ls = log(zs.map { exp($0) }.reduce(0, +)), lt = log(zt.map { exp($0) }.reduce(0, +))
            for j in 0..<k {
                let pt = exp(zt[j] - lt)
                total += pt * ((zt[j] - lt) - (zs[j] - ls))
            }
        }
        return tau * tau * total / Double(rows)
    }

    @Test("τ²·KL by its definition; zero against itself; gradient by central differences", arguments: [1.0, 2.5])
    func distillationKL(tau: Double) throws {
        var rng = SeededRNG(seed: 9)
        let s = Tensor.randomNormal([3, 5], std: 1.5, rng: &rng), t = Tensor.randomNormal([3, 5], std: 1.5, rng: &rng)
        let sv = Variable(s, requiresGrad: true)
        let v = try FineTuneObjective.distillationKL(student: sv, teacher: t, temperature: Float(tau))
        let want = Self.kl(s.values, t.values, rows: 3, tau: tau)
        #expect(abs(Double(v.value.item) - want) <= 1e-5 * max(1, want))
        #expect(abs(try FineTuneObjective.distillationKL(student: Variable(t), teacher: t, temperature: Float(tau)).value.item) <= 1e-6)
        try v.backward()
        let g = try #require(sv.grad).values
        let h: Float = 1e-2
        for i in 0..<s.count {
            var up = s.values, down = s.values
            up[i] += h; down[i] -= h
            let numeric = (Self.kl(up, t.values, rows: 3, tau: tau) - Self.kl(down, t.values, rows: 3, tau: tau)) / (2 * Double(h))
            #expect(abs(Double(g[i]) - numeric) <= 1e-3 + 1e-2 * abs(numeric), "∂/∂s[\(i)]: \(g[i]) vs \(numeric)")
        }
    }

    @Test("logits of different shapes are refused, naming both")
    func shapes() throws {
        #expect { try FineTuneObjective.distillationKL(student: Variable(Tensor(zeros: [2, 3])), teacher: Tensor(zeros: [2, 4]), temperature: 1) } throws: {
            "\($0)".contains("[2, 3]") && "\($0)".contains("[2, 4]")
        }
    }
}
