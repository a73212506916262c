import Testing
import Foundation
@testable import Models
import Neurons
import Engine

// meanKL is the product function (Models/Divergence.swift); checked below against a 2-token case.

/// SpikeGPT with SpikeLLM's neuron at every block linear's input (the neuron every family shares).
@Suite struct SpikeGPTGIFTests {
    let weights: [String: Tensor]
    init() throws { weights = try Fixture.safetensors("spikegpt/tiny.safetensors") }
    let prompts = [[1, 4, 9, 16, 2, 5, 11, 7, 3, 0], [22, 21, 3, 3, 8, 13, 6, 1, 2, 9]]
    let evalTokens = [5, 9, 1, 0, 17, 4, 4, 12, 20, 3, 6, 2]

    func kl(_ s: SpikeLLMSettings) throws -> (Double, [String: SpikeLLMMask], Trace) {
        var model = try SpikeGPT(weights: weights)
        model.controls.neuron = .none
        var s0 = model.initialState()
        let float = try model.forward(tokens: evalTokens, state: &s0).logits
        let masks = try model.calibrateGIF(prompts: prompts, settings: s)
        model.controls.neuron = .gif
        model.controls.spikeLLM = s
        model.controls.gifMasks = masks
        var s1 = model.initialState()
        let probe = Probe()
        let gif = try model.forward(tokens: evalTokens, state: &s1, probe: probe).logits
        return (meanKL(float, gif), masks, probe.trace)
    }

    @Test func moreBitsLessDivergenceAndLevelsInRange() throws {
        var last = Double.infinity
        for a in [2, 4, 6, 8] {
            let s = SpikeLLMSettings(abits: a, addbit: 1, lowP: 0.75)
            let (d, masks, trace) = try kl(s)
            print("SpikeLLM abits \(a) +1, low_p 0.75: KL = \(d)")
            #expect(d < last)
            last = d
            let sites = trace.sites.filter { $0.neuron == .gif }
            #expect(sites.count == 14)  // 7 linears × 2 layers
            for site in sites {
                #expect(site.spikes.allSatisfy { $0 >= 0 && $0 <= Float((1 << a) - 1) && $0 == $0.rounded() })
                #expect(site.layout == [2, evalTokens.count])
                let mask = try #require(masks[String(site.name.dropLast(4))])
                #expect(site.salient == mask.salientChannels)
                // ⌊0.75·C⌋ ordinary channels (ties aside), the rest salient, bits exact.
                let C = site.width, ordinary = C - site.salient.count
                #expect(ordinary >= Int(0.75 * Double(C)))
                #expect(abs((site.bitsPerActivation ?? 0) - (Double(a) + Double(site.salient.count) / Double(C))) < 1e-9)
            }
        }
    }

    /// The released claim on the tiny model: at 2-bit activations, extra steps for the salient
    /// channels bring the coded model closer to the float one than uniform 2 bits.
    @Test func salientStepsRecoverWhatLowBitsLose() throws {
        let (uniform, _, _) = try kl(SpikeLLMSettings(abits: 2, addbit: 0, lowP: 1))
        let (salient, _, _) = try kl(SpikeLLMSettings(abits: 2, addbit: 2, lowP: 0.75))
        print("SpikeGPT tiny, abits 2: uniform KL \(uniform), addbit 2 low_p 0.75 KL \(salient)")
        #expect(salient < uniform)
    }

    @Test func klOfKnownDistributions() throws {
        // p = softmax([0, 0]) = [.5, .5], q = softmax([0, ln 3]) = [.25, .75]
        let p = try Tensor(shape: [1, 2], values: [0, 0]), q = try Tensor(shape: [1, 2], values: [0, Float(log(3.0))])
        let expected = 0.5 * log(0.5 / 0.25) + 0.5 * log(0.5 / 0.75)
        #expect(abs(meanKL(p, q) - expected) < 1e-6)
        #expect(meanKL(p, p) == 0)
    }
}
