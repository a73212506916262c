import Testing
import Foundation
@testable import Models
import Neurons
import Engine

// meanKL is the product function (Models/Divergence.swift); checked below against a 2-token case.

@Suite struct SpikeGPTGIFTests {
    let weights: [String: Tensor]
    init() throws { weights = try Fixture.safetensors("spikegpt/tiny.safetensors") }
    let prompts = [[1, 4, 9, 16, 2, 5, 11, 7, 3, 0], [22, 21, 3, 3, 8, 13, 6, 1, 2, 9]]
    let evalTokens = [5, 9, 1, 0, 17, 4, 4, 12, 20, 3, 6, 2]

    func kl(bits: Double, outliers: Double, levels: Int = 2) throws -> (Double, GIFPlan, Trace) {
        var model = try SpikeGPT(weights: weights)
        model.controls.neuron = .none
        var s0 = model.initialState()
        let float = try model.forward(tokens: evalTokens, state: &s0).logits
        let plan = try model.calibrateGIF(prompts: prompts, base: GIFConfig(timesteps: levels, levels: levels, bidirectional: true),
                                          bits: bits, outlierFraction: outliers)
        model.controls.neuron = .gif
        model.controls.gif = plan
        var s1 = model.initialState()
        let probe = Probe()
        let gif = try model.forward(tokens: evalTokens, state: &s1, probe: probe).logits
        return (meanKL(float, gif), plan, probe.trace)
    }

    @Test func moreBitsLessDivergenceAndExactAccounting() throws {
        let b1 = log2(5.0)
        var last = Double.infinity
        for u in [1, 2, 4, 8] {
            let (d, plan, trace) = try kl(bits: Double(u) * b1, outliers: 0)
            print("GIF uniform \(u) steps: KL = \(d)")
            #expect(d < last)
            last = d
            #expect(abs(plan.averageBits - Double(u) * b1) < 1e-9)
            let sites = trace.sites.filter { $0.neuron == .gif }
            #expect(sites.count == 14)  // 7 linears × 2 layers
            for s in sites {
                #expect(s.spikes.allSatisfy { abs($0) <= 2 && $0 == $0.rounded() })
                #expect(s.layout == [u, evalTokens.count])
            }
        }
    }

    @Test func saliencyAllocationSpendsTheSameBits() throws {
        let b1 = log2(5.0)
        for u in [2, 4] {
            let (dU, pU, _) = try kl(bits: Double(u) * b1, outliers: 0)
            let (dS, pS, _) = try kl(bits: Double(u) * b1, outliers: 0.0625)
            print("GIF \(u) steps: uniform KL \(dU) (\(pU.averageBits) bits), saliency KL \(dS) (\(pS.averageBits) bits)")
            #expect(pS.averageBits <= pU.averageBits + 1e-9)
            #expect(dS.isFinite && dU.isFinite)
        }
    }

    @Test func klOfKnownDistributions() throws {
        // p = softmax([0, 0]) = [.5, .5], q = softmax([0, ln 3]) = [.25, .75]
        let p = try Tensor(shape: [1, 2], values: [0, 0]), q = try Tensor(shape: [1, 2], values: [0, Float(log(3.0))])
        let expected = 0.5 * log(0.5 / 0.25) + 0.5 * log(0.5 / 0.75)
        #expect(abs(meanKL(p, q) - expected) < 1e-6)
        #expect(meanKL(p, p) == 0)
    }
}
