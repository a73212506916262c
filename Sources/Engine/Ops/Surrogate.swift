// Spiking primitives with surrogate gradients: Heaviside (arctangent surrogate) and the elastic
// spike quantisers of SpikeLM (ternary {−1,0,1}·α, binary {0,1}·α, sign {−1,1}·α).
//
// What it is: forward on Tensor (inference) and differentiable on Variable with the surrogate
// backward the papers train with. What it is not: a neuron (the LIF/elastic neurons with their
// state live in Neurons/ and call these).
//
// Heaviside (SpikingJelly surrogate.ATan, SpikeGPT; SEEDS.md §1):
//   s = [x ≥ 0];   dS/dx = α / (2·(1 + (π/2·α·x)²)),  α = 2 by default
//   (the derivative of the smooth stand-in σ(x) = arctan(π/2·α·x)/π + 1/2).
//
// Elastic ternary spike (SpikeLM released code spikeLM-BERT/spiking.py, ElasticBiSpiking with
// num_bits = 2, an LSQ quantiser, Esser et al. 2019; SEEDS.md §2). α is a one-element Variable.
//   α' = max(α, 1e-5);  q = m/α';  s = clamp(round(q), −1, 1)  (round half to even, as torch.round)
//   out = s·α'
//   dm = g where −1 ≤ q ≤ 1, else 0                       (straight-through inside the clamp)
//   dα = Σ_i c_i·g_i·k,  c_i = −1 (q < −1), +1 (q > 1), round(q) − q (inside);  k = 1/√numel
//   The clamp of α at 1e-5 does not block its gradient (as released).
// Binary {0,1} variant (ablation; LSQ with Qn = 0, Qp = 1, same k):
//   s = clamp(round(q), 0, 1);  dm = g where 0 ≤ q ≤ 1;  c_i = 0 (q < 0), 1 (q > 1), round(q) − q
// Sign variant (released num_bits = 1 branch):
//   s = sign(m) (0 at 0);  dm = g where −1 ≤ q ≤ 1;  c_i = sign(m_i)

import Foundation

/// The lower clamp on the spike amplitude α (released code: eps = 0.00001).
public let spikeAlphaFloor: Float = 1e-5

/// The spike alphabet of an amplitude (α) neuron: the one vocabulary shared by the training
/// quantiser here (`spike(alpha:kind:)`), the inference neuron (Neurons' `ElasticBiSpike`) and
/// the neuron kinds users pick (`NeuronKind.alphabet`).
public enum SpikeAlphabet: String, Sendable, Codable, CaseIterable {
    /// {−1, 0, +1}: the released elastic bi-spike (input_bits = 2).
    case ternary
    /// {0, +1}: fires when m/α > 1/2 (ablation: no negative spikes).
    case binary
    /// {−1, +1}: sign(m) (the released input_bits = 1); k does not change its firing.
    case signed

    /// The quantised level s for q = m/α (and m for `signed`).
    @inline(__always) func level(_ q: Float) -> Float {
        switch self {
        case .ternary: return Swift.min(Swift.max(q.rounded(.toNearestOrEven), -1), 1)
        case .binary: return Swift.min(Swift.max(q.rounded(.toNearestOrEven), 0), 1)
        case .signed: return q > 0 ? 1 : (q < 0 ? -1 : 0)
        }
    }

    /// (dOut/dm mask, c = dOut/dα before the scale k) at q.
    @inline(__always) func surrogate(_ q: Float) -> (pass: Float, c: Float) {
        switch self {
        case .ternary:
            if q < -1 { return (0, -1) }
            if q > 1 { return (0, 1) }
            return (1, q.rounded(.toNearestOrEven) - q)
        case .binary:
            if q < 0 { return (0, 0) }
            if q > 1 { return (0, 1) }
            return (1, q.rounded(.toNearestOrEven) - q)
        case .signed:
            return (q >= -1 && q <= 1 ? 1 : 0, q > 0 ? 1 : (q < 0 ? -1 : 0))
        }
    }
}

extension Tensor {
    /// s = [x ≥ 0] ∈ {0, 1}.
    public func heaviside() -> Tensor { map { $0 >= 0 ? 1 : 0 } }

    /// Elastic spike s·α' with s from `kind` (see the file header). Forward only.
    public func spike(alpha: Float, kind: SpikeAlphabet = .ternary) -> Tensor {
        let a = Swift.max(alpha, spikeAlphaFloor)
        return map { kind.level($0 / a) * a }
    }

    /// Elastic ternary spike clamp(round(m/α'), −1, 1)·α'. Forward only.
    public func ternarySpike(alpha: Float) -> Tensor { spike(alpha: alpha, kind: .ternary) }
}

extension Variable {
    /// Heaviside forward with the arctangent surrogate backward (see the file header).
    public func heaviside(alpha: Float = 2) -> Variable {
        let x = value
        let c = Float.pi / 2 * alpha
        return Variable.make(x.heaviside(), parents: [self]) { g in
            [Tensor.zip3(x, x, g) { x, _, g in
                let u = c * x
                return g * alpha / (2 * (1 + u * u))
            }]
        }
    }

    /// Elastic spike with a learnable one-element amplitude `alpha` (see the file header).
    /// Throws when `alpha` does not hold exactly one value.
    public func spike(alpha: Variable, kind: SpikeAlphabet = .ternary) throws -> Variable {
        guard alpha.value.count == 1 else {
            throw EngineError.invalidShape(op: "spike(alpha:)", shape: alpha.shape,
                                           reason: "alpha must hold one value (one amplitude per site and timestep)")
        }
        let m = value
        let a = Swift.max(alpha.value.contiguous().item, spikeAlphaFloor)
        let y = m.spike(alpha: a, kind: kind)
        let alphaShape = alpha.shape
        let needM = requiresGrad, needA = alpha.requiresGrad
        return Variable.make(y, parents: [self, alpha]) { g in
            let n = m.count
            let k = 1 / Double(n).squareRoot()
            let (dm, o) = Tensor.makeOutput(m.shape)
            var da: Double = 0
            m.withContiguousPointer { pm in
                g.withContiguousPointer { pg in
                    for i in 0..<n {
                        let (pass, c) = kind.surrogate(pm[i] / a)
                        if needM { o[i] = pass * pg[i] }
                        da += Double(c) * Double(pg[i])
                    }
                }
            }
            return [needM ? dm : nil, needA ? Tensor(repeating: Float(da * k), shape: alphaShape) : nil]
        }
    }

    /// Elastic ternary spike (SpikeLM): `spike(alpha:kind: .ternary)`.
    public func ternarySpike(alpha: Variable) throws -> Variable { try spike(alpha: alpha, kind: .ternary) }
}

// Soft firing rate (the firing-rate regulariser of fine-tuning, `train --target-rate`).
// The hard rate of an amplitude site is the fraction of cells whose level is not 0; it has no
// gradient. Its smooth stand-in replaces the step at the firing threshold |q| = ½ (ternary) or
// q = ½ (binary) by a logistic of sharpness β, over the n cells of the rows that count:
//   q_i = m_i/α',  u_i = |q_i| − ½ (ternary) or q_i − ½ (binary)
//   r = (1/n)·Σ σ(β·u_i)
//   dr/dm_i = σ'(β·u_i)·β·s_i/(n·α'),  s_i = sign(m_i) (ternary) or 1 (binary)
//   dr/dα   = −Σ σ'(β·u_i)·β·s_i·m_i/(n·α'²)
// Sign spikes fire at every non-zero membrane: their rate is 1 and has no gradient.
extension Variable {
    /// The smooth firing rate of this membrane under amplitude `alpha` (scalar Variable; see above).
    /// - Parameter validRows: rows (of the last axis) that count, repeating when shorter than the
    ///   number of rows (padding of a [T, B, L, F] membrane: the B·L flags); nil = every row.
    /// Throws when `alpha` does not hold exactly one value.
    public func softFiringRate(alpha: Variable, kind: SpikeAlphabet = .ternary, sharpness beta: Float = 8,
                               validRows: [Bool]? = nil) throws -> Variable {
        guard alpha.value.count == 1 else {
            throw EngineError.invalidShape(op: "softFiringRate(alpha:)", shape: alpha.shape,
                                           reason: "alpha must hold one value (one amplitude per site and timestep)")
        }
        if kind == .signed { return Variable(Tensor(scalar: 1)) }
        let m = value
        let F = Swift.max(m.shape.last ?? 1, 1), rows = m.count / F
        let counts: (Int) -> Bool = { r in validRows.map { $0.isEmpty || $0[r % $0.count] } ?? true }
        let n = Swift.max((0..<rows).filter(counts).count * F, 1)
        let a = Swift.max(alpha.value.contiguous().item, spikeAlphaFloor)
        let ternary = kind == .ternary
        var total = 0.0
        m.withContiguousPointer { pm in
            for r in 0..<rows where counts(r) {
                for i in (r * F)..<((r + 1) * F) {
                    let q = pm[i] / a
                    total += Double(sigmoidScalar(beta * ((ternary ? Swift.abs(q) : q) - 0.5)))
                }
            }
        }
        let alphaShape = alpha.shape
        let needM = requiresGrad, needA = alpha.requiresGrad
        return Variable.make(Tensor(scalar: Float(total / Double(n))), parents: [self, alpha]) { g in
            let scale = g.item * beta / Float(n)
            let (dm, o) = Tensor.makeOutput(m.shape)
            var da = 0.0
            m.withContiguousPointer { pm in
                for r in 0..<rows {
                    guard counts(r) else {
                        for i in (r * F)..<((r + 1) * F) { o[i] = 0 }
                        continue
                    }
                    for i in (r * F)..<((r + 1) * F) {
                        let q = pm[i] / a
                        let s = sigmoidScalar(beta * ((ternary ? Swift.abs(q) : q) - 0.5))
                        let sign: Float = ternary ? (q > 0 ? 1 : (q < 0 ? -1 : 0)) : 1
                        let d = s * (1 - s) * scale * sign
                        o[i] = d / a
                        da -= Double(d * q / a)
                    }
                }
            }
            return [needM ? dm : nil, needA ? Tensor(repeating: Float(da), shape: alphaShape) : nil]
        }
    }
}
