// Differentiable elementwise arithmetic on Variable: broadcasting + - * /, scalar forms, negation.
//
// What it is: thin wrappers over the forward Tensor operators in Broadcast.swift plus their
// backward closures. A broadcast operand receives its gradient summed back to its own shape
// (`sumToShape`), the reverse of broadcasting.
// What it is not: in-place arithmetic (every op allocates its result).
//
// Backward (g = dL/dy):
//   y = a + b:  da = g,        db = g
//   y = a - b:  da = g,        db = -g
//   y = a * b:  da = g·b,      db = g·a
//   y = a / b:  da = g / b,    db = -g·a / b²

import Foundation

extension Variable {
    /// A constant (no gradient) wrapping a tensor.
    public static func constant(_ t: Tensor) -> Variable { Variable(t) }

    public static func + (a: Variable, b: Variable) throws -> Variable {
        let y = try a.value + b.value
        let sa = a.shape, sb = b.shape
        return make(y, parents: [a, b]) { g in [try g.sumToShape(sa), try g.sumToShape(sb)] }
    }

    public static func - (a: Variable, b: Variable) throws -> Variable {
        let y = try a.value - b.value
        let sa = a.shape, sb = b.shape
        return make(y, parents: [a, b]) { g in [try g.sumToShape(sa), try (-g).sumToShape(sb)] }
    }

    public static func * (a: Variable, b: Variable) throws -> Variable {
        let av = a.value, bv = b.value
        let y = try av * bv
        let needA = a.requiresGrad, needB = b.requiresGrad
        return make(y, parents: [a, b]) { g in
            [needA ? try (g * bv).sumToShape(av.shape) : nil,
             needB ? try (g * av).sumToShape(bv.shape) : nil]
        }
    }

    public static func / (a: Variable, b: Variable) throws -> Variable {
        let av = a.value, bv = b.value
        let y = try av / bv
        let needA = a.requiresGrad, needB = b.requiresGrad
        return make(y, parents: [a, b]) { g in
            let ga = try g / bv
            // db = -g·a/b² = -(g/b)·(a/b) = -ga · y
            return [needA ? try ga.sumToShape(av.shape) : nil,
                    needB ? try (-(try ga * y)).sumToShape(bv.shape) : nil]
        }
    }

    public static prefix func - (a: Variable) -> Variable {
        make(-a.value, parents: [a]) { g in [-g] }
    }

    public static func + (a: Variable, s: Float) -> Variable {
        make(a.value + s, parents: [a]) { g in [g] }
    }
    public static func + (s: Float, a: Variable) -> Variable { a + s }
    public static func - (a: Variable, s: Float) -> Variable { a + (-s) }
    public static func - (s: Float, a: Variable) -> Variable {
        make(a.value.map { s - $0 }, parents: [a]) { g in [-g] }
    }
    public static func * (a: Variable, s: Float) -> Variable {
        make(a.value * s, parents: [a]) { g in [g * s] }
    }
    public static func * (s: Float, a: Variable) -> Variable { a * s }
    public static func / (a: Variable, s: Float) -> Variable { a * (1 / s) }
    /// y = s / a;  da = -g·s/a² = -g·y/a
    public static func / (s: Float, a: Variable) -> Variable {
        let av = a.value
        let y = av.map { s / $0 }
        return make(y, parents: [a]) { g in [try (-g) * y / av] }
    }
}
