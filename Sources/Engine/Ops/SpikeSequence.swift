// A spiking site over T timesteps as one fused op: SpikeLM's elastic neuron (recurrent membrane
// with soft reset) or a per-timestep quantiser (K and V), with its smooth firing rate.
//
// What it is: the same arithmetic as building the site from `spike(alpha:kind:)` per timestep
// (SEEDS.md §2, SpikeBERT+Training.swift's header), with one tape instead of five Variables per
// timestep. The tape keeps the membranes m_t (the backward needs them) and the output; the input
// is not kept. Training a 22M-parameter encoder at T = 4 is bounded by these tapes.
// Forward, x [T, …] with S cells per timestep, α'_t = max(α_t, 1e-5):
//   m_0 = x_0;  m_t = m_{t−1}·f_{t−1} + x_t (recurrent; else m_t = x_t)
//   f_{t−1} = r·(α'_{t−1} − o_{t−1})   (r = the reset factor, 0.25; a constant: α and o detached)
//   o_t = level(m_t/α'_t)·α'_t
//   An α_t still 0 is calibrated when m_t is known: α_t = max(2·mean|m_t| over valid rows, 1e-5).
// Backward of the spikes (g_t = dL/do_t), from t = T−1 down to 0:
//   dm_t = pass(m_t/α'_t)·g_t + dm_{t+1}·f_t;   dx_t = dm_t
//   dα_t = (1/√S)·Σ c(m_t/α'_t)·g_t                       (LSQ, as `spike(alpha:kind:)`)
// The smooth rate r̃ = (1/T)·Σ_t softRate(m_t; α_t) over valid rows (`softFiringRate`) is a
// second Variable on the same tape, made a consumer of the spikes: its backward only leaves its
// upstream gradient on the tape, and the spikes' backward (which runs after it, consumers first)
// feeds dr̃/dm_t into the same recurrence in the same pass. A separate dx per site would hold one
// gradient the size of every site's input at once (the rates sit next to the loss): +600 MB at
// MiniLM 16×64, T = 4. So a graph that uses the rate must also use the spikes (training always does).
// What it is not: the inference neuron (Neurons' ElasticBiSpike), which runs one row at a time.

import Foundation

/// One fused site's forward results.
public struct SpikeSequenceResult {
    /// o [T, …], the input's shape.
    public var spikes: Variable
    /// The smooth mean firing rate (scalar); nil unless asked.
    public var softRate: Variable?
    /// Non-zero output cells and all cells of the valid rows, over every timestep.
    public var fired: Int
    public var cells: Int
}

/// What the backward of a fused site needs (shared by its two Variables).
private final class SpikeSequenceTape {
    let T: Int, S: Int, F: Int
    let membranes: [Float]
    let amplitudes: [Float]
    let outputs: Tensor
    let recurrent: Bool
    let resetFactor: Float
    let kind: SpikeAlphabet
    let valid: [Bool]?
    let beta: Float
    let rateCells: Int
    /// dL/dr̃, left by the rate's backward for the spikes' backward.
    var pendingRateGradient: Float = 0

    init(T: Int, S: Int, F: Int, membranes: [Float], amplitudes: [Float], outputs: Tensor, recurrent: Bool, resetFactor: Float,
         kind: SpikeAlphabet, valid: [Bool]?, beta: Float, rateCells: Int) {
        self.T = T; self.S = S; self.F = F; self.membranes = membranes; self.amplitudes = amplitudes; self.outputs = outputs
        self.recurrent = recurrent; self.resetFactor = resetFactor; self.kind = kind; self.valid = valid; self.beta = beta
        self.rateCells = rateCells
    }

    func rowCounts(_ cell: Int) -> Bool {
        guard let valid, !valid.isEmpty else { return true }
        return valid[(cell / F) % valid.count]
    }

    /// dx and dα for an upstream gradient of the spikes (`gSpikes`) and/or of the rate (`gRate`).
    func backward(gSpikes: Tensor?, gRate: Float) -> (dx: Tensor, dAlpha: [Float]) {
        let (dx, o) = Tensor.makeOutput([T * S])
        var dAlpha = [Float](repeating: 0, count: T)
        var carry = [Float](repeating: 0, count: S)
        let g = gSpikes?.contiguous()
        let ternary = kind == .ternary
        let rateScale = gRate * beta / Float(Swift.max(rateCells, 1) * T)
        let k = 1 / Double(S).squareRoot()
        let T = self.T, S = self.S
        outputs.contiguous().withUnsafeBufferPointer { po in
            membranes.withUnsafeBufferPointer { pm in
                let body = { (pg: UnsafePointer<Float>?) in
                    for t in stride(from: T - 1, through: 0, by: -1) {
                        let a = self.amplitudes[t], base = t * S
                        var daSpike = 0.0, daRate = 0.0
                        let prevA = t > 0 ? self.amplitudes[t - 1] : 0
                        for i in 0..<S {
                            let q = pm[base + i] / a
                            var dm = carry[i]
                            if let pg {
                                let (pass, c) = self.kind.surrogate(q)
                                dm += pass * pg[base + i]
                                daSpike += Double(c) * Double(pg[base + i])
                            }
                            if rateScale != 0 && self.kind != .signed && self.rowCounts(base + i) {
                                let s = sigmoidScalar(self.beta * ((ternary ? Swift.abs(q) : q) - 0.5))
                                let sign: Float = ternary ? (q > 0 ? 1 : (q < 0 ? -1 : 0)) : 1
                                let d = s * (1 - s) * rateScale * sign
                                dm += d / a
                                daRate -= Double(d * q / a)
                            }
                            o[base + i] = dm
                            if self.recurrent && t > 0 {
                                carry[i] = dm * self.resetFactor * (prevA - po[base - S + i])
                            }
                        }
                        dAlpha[t] = Float(daSpike * k + daRate)
                    }
                }
                if let g { g.withUnsafeBufferPointer { body($0.baseAddress!) } } else { body(nil) }
            }
        }
        return (dx, dAlpha)
    }
}

extension Variable {
    /// The site over the leading axis of this [T, …] input (see the file header).
    /// - Parameters:
    ///   - alphas: T one-element amplitudes; a 0 is calibrated in place on this batch.
    ///   - recurrent: membrane with soft reset (SpikeLinear) or none (K and V spikes).
    ///   - resetFactor: r of f = r·(α − o) (SpikeLM: 0.25).
    ///   - validRows: flags of the rows (of the last axis) that count for calibration, the counts
    ///     and the smooth rate, repeating per timestep; nil = every row.
    ///   - softRate: also build the smooth rate Variable (sharpness `beta`).
    public func spikeSequence(alphas: [Variable], kind: SpikeAlphabet = .ternary, recurrent: Bool, resetFactor: Float,
                              validRows: [Bool]? = nil, softRate: Bool = false, beta: Float = 8) throws -> SpikeSequenceResult {
        let T = shape.first ?? 0
        guard T >= 1, alphas.count == T, alphas.allSatisfy({ $0.value.count == 1 }) else {
            throw EngineError.invalidShape(op: "spikeSequence(alphas:)", shape: shape,
                                           reason: "needs one one-element amplitude per timestep of the leading axis (\(alphas.count) for \(T))")
        }
        let x = value.contiguous()
        let S = x.count / T, F = Swift.max(shape.last ?? 1, 1)
        let counts: (Int) -> Bool = { cell in validRows.map { $0.isEmpty || $0[(cell / F) % $0.count] } ?? true }
        var membranes = [Float](repeating: 0, count: T * S)
        let (out, po) = Tensor.makeOutput(shape)
        var amplitudes = [Float](repeating: 0, count: T)
        var fired = 0, cells = 0
        var rateSum = 0.0
        let ternary = kind == .ternary
        let validCells = (0..<(S / F)).filter { counts($0 * F) }.count * F
        x.withUnsafeBufferPointer { px in
            membranes.withUnsafeMutableBufferPointer { pm in
                for t in 0..<T {
                    let base = t * S
                    if recurrent && t > 0 {
                        let prevA = amplitudes[t - 1]
                        for i in 0..<S { pm[base + i] = pm[base - S + i] * (resetFactor * (prevA - po[base - S + i])) + px[base + i] }
                    } else {
                        for i in 0..<S { pm[base + i] = px[base + i] }
                    }
                    let alpha = alphas[t]
                    if alpha.value.contiguous().item == 0 {
                        var acc = 0.0
                        for i in 0..<S where counts(i) { acc += Double(Swift.abs(pm[base + i])) }
                        alpha.value = Tensor([Swift.max(2 * Float(validCells == 0 ? 0 : acc / Double(validCells)), spikeAlphaFloor)])
                    }
                    let a = Swift.max(alpha.value.contiguous().item, spikeAlphaFloor)
                    amplitudes[t] = a
                    var soft = 0.0
                    for i in 0..<S {
                        let q = pm[base + i] / a
                        let level = kind.level(q)
                        po[base + i] = level * a
                        if counts(i) {
                            if level != 0 { fired += 1 }
                            if softRate && kind != .signed { soft += Double(sigmoidScalar(beta * ((ternary ? Swift.abs(q) : q) - 0.5))) }
                        }
                    }
                    cells += validCells
                    rateSum += kind == .signed ? 1 : soft / Double(Swift.max(validCells, 1))
                }
            }
        }
        let tape = SpikeSequenceTape(T: T, S: S, F: F, membranes: membranes, amplitudes: amplitudes, outputs: out, recurrent: recurrent,
                                     resetFactor: resetFactor, kind: kind, valid: validRows, beta: beta, rateCells: validCells)
        let xShape = shape
        let alphaShapes = alphas.map(\.shape)
        let parents = [self] + alphas
        func grads(_ r: (dx: Tensor, dAlpha: [Float])) throws -> [Tensor?] {
            [try r.dx.reshaped(xShape)] + zip(r.dAlpha, alphaShapes).map { Tensor(repeating: $0, shape: $1) }
        }
        let spikes = Variable.make(out, parents: parents) { g in
            defer { tape.pendingRateGradient = 0 }
            return try grads(tape.backward(gSpikes: g, gRate: tape.pendingRateGradient))
        }
        var rate: Variable?
        if softRate {
            rate = Variable.make(Tensor(scalar: Float(rateSum / Double(T))), parents: kind == .signed ? [] : [spikes]) { g in
                tape.pendingRateGradient += g.item
                return [nil]
            }
        }
        return SpikeSequenceResult(spikes: spikes, softRate: rate, fired: fired, cells: cells)
    }
}
