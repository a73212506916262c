// Elementwise functions: exp, log, sigmoid, tanh, relu, square, sqrt, GELU (exact, erf-based), abs.
//
// What it is: forward-only versions on Tensor (used by fast inference) and differentiable
// versions on Variable. Each backward is dx = g · f'(x), written with whichever of x or y = f(x)
// is cheaper.
// What it is not: the tanh-approximated GELU (BERT and MiniLM use the exact erf form).
// Naming: exp/log/tanh/sqrt/abs are spelled exponential(), logarithm(), hyperbolicTangent(),
// squareRoot(), absolute(): a method named `exp` or `max` on Tensor would shadow the free
// functions `exp(_:)`, `max(_:_:)`… inside every other `extension Tensor` of the module.
//
//   exp:     y = eˣ                         f' = y
//   log:     y = ln x                       f' = 1/x
//   sigmoid: y = 1/(1+e⁻ˣ)                  f' = y(1−y)
//   tanh:    y = tanh x                     f' = 1−y²
//   relu:    y = max(x, 0)                  f' = [x > 0]          (0 at x = 0, as PyTorch)
//   square:  y = x²                         f' = 2x
//   sqrt:    y = √x                         f' = 1/(2y)
//   gelu:    y = x·Φ(x), Φ(x) = ½(1+erf(x/√2))   f' = Φ(x) + x·φ(x), φ(x) = e^(−x²/2)/√(2π)
//   abs:     y = |x|                        f' = sign(x)          (0 at x = 0, as PyTorch)

import Foundation

/// 1/√2 and 1/√(2π), to Float precision.
private let invSqrt2: Float = 0.70710678118654752
private let invSqrt2Pi: Float = 0.39894228040143268

@inline(__always) func geluScalar(_ x: Float) -> Float { 0.5 * x * (1 + erff(x * invSqrt2)) }
@inline(__always) func geluDerivative(_ x: Float) -> Float {
    0.5 * (1 + erff(x * invSqrt2)) + x * invSqrt2Pi * expf(-0.5 * x * x)
}
@inline(__always) func sigmoidScalar(_ x: Float) -> Float {
    // Two branches so that e^(−x) never overflows for very negative x.
    if x >= 0 { return 1 / (1 + expf(-x)) }
    let e = expf(x)
    return e / (1 + e)
}

extension Tensor {
    public func exponential() -> Tensor { map { expf($0) } }
    public func logarithm() -> Tensor { map { logf($0) } }
    public func sigmoid() -> Tensor { map(sigmoidScalar) }
    public func hyperbolicTangent() -> Tensor { map { tanhf($0) } }
    public func relu() -> Tensor { map { $0 > 0 ? $0 : 0 } }
    public func square() -> Tensor { map { $0 * $0 } }
    public func squareRoot() -> Tensor { map { sqrtf($0) } }
    public func gelu() -> Tensor { map(geluScalar) }
    public func absolute() -> Tensor { map { Swift.abs($0) } }

    /// GELU written into this tensor's own buffer (no new allocation when uniquely owned).
    public mutating func applyGELU() {
        withUnsafeMutableBufferPointer { p in for i in p.indices { p[i] = geluScalar(p[i]) } }
    }

    /// out[i] = f(x[i], y[i], g[i]) for three tensors of the same shape (backward helper).
    static func zip3(_ x: Tensor, _ y: Tensor, _ g: Tensor, _ f: (Float, Float, Float) -> Float) -> Tensor {
        let (out, o) = makeOutput(x.shape)
        let n = x.count
        x.withContiguousPointer { px in
            y.withContiguousPointer { py in
                g.withContiguousPointer { pg in
                    for i in 0..<n { o[i] = f(px[i], py[i], pg[i]) }
                }
            }
        }
        return out
    }
}

extension Variable {
    /// y = f(x) with dx = g · d(x, y) elementwise.
    private func unary(_ y: Tensor, _ d: @escaping (Float, Float) -> Float) -> Variable {
        let x = value
        return Variable.make(y, parents: [self]) { g in [Tensor.zip3(x, y, g) { x, y, g in g * d(x, y) }] }
    }

    public func exponential() -> Variable { unary(value.exponential()) { _, y in y } }
    public func logarithm() -> Variable { unary(value.logarithm()) { x, _ in 1 / x } }
    public func sigmoid() -> Variable { unary(value.sigmoid()) { _, y in y * (1 - y) } }
    public func hyperbolicTangent() -> Variable { unary(value.hyperbolicTangent()) { _, y in 1 - y * y } }
    public func relu() -> Variable { unary(value.relu()) { x, _ in x > 0 ? 1 : 0 } }
    public func square() -> Variable { unary(value.square()) { x, _ in 2 * x } }
    public func squareRoot() -> Variable { unary(value.squareRoot()) { _, y in 0.5 / y } }
    public func gelu() -> Variable { unary(value.gelu()) { x, _ in geluDerivative(x) } }
    public func absolute() -> Variable { unary(value.absolute()) { x, _ in x > 0 ? 1 : (x < 0 ? -1 : 0) } }
}
