// Variable: a node of the reverse-mode autograd graph.
//
// What it is: a tensor value plus, when gradients are wanted, the parents it was computed from
// and a closure that maps the output gradient to the parents' gradients. The graph is built only
// when at least one input requires a gradient and `GradMode.isEnabled` — inference on plain
// `Tensor`s, or on Variables that do not require grad, records nothing.
// What it is not: thread-safe. A graph belongs to one thread (the trainer's, or a test's).

import Foundation

/// Whether ops record the graph. `GradMode.$isEnabled.withValue(false) { … }` is a no-grad scope.
public enum GradMode {
    @TaskLocal public static var isEnabled: Bool = true
}

/// Runs `body` with graph recording switched off.
public func withNoGrad<R>(_ body: () throws -> R) rethrows -> R {
    try GradMode.$isEnabled.withValue(false) { try body() }
}

public final class Variable {
    public var value: Tensor
    /// Accumulated gradient (same shape as `value`), set by `backward()` when `requiresGrad`.
    public var grad: Tensor?
    public let requiresGrad: Bool
    /// Optional name (parameter name in a checkpoint) for messages and optimisers.
    public var name: String

    let parents: [Variable]
    /// Maps d(loss)/d(self) to d(loss)/d(parent_i) (nil where a parent needs none).
    let backwardFn: ((Tensor) throws -> [Tensor?])?

    /// A leaf (parameter or input).
    public init(_ value: Tensor, requiresGrad: Bool = false, name: String = "") {
        self.value = value
        self.requiresGrad = requiresGrad
        self.name = name
        self.parents = []
        self.backwardFn = nil
    }

    /// An interior node. Use `Variable.make` from ops so recording follows GradMode.
    init(value: Tensor, parents: [Variable], backward: @escaping (Tensor) throws -> [Tensor?]) {
        self.value = value
        self.requiresGrad = true
        self.name = ""
        self.parents = parents
        self.backwardFn = backward
    }

    public var shape: [Int] { value.shape }

    /// Builds the result of an op: a graph node when any parent requires grad and recording is on,
    /// otherwise a plain constant (the closure is never stored, so inference pays nothing).
    public static func make(_ value: Tensor, parents: [Variable],
                            backward: @escaping (Tensor) throws -> [Tensor?]) -> Variable {
        if GradMode.isEnabled && parents.contains(where: { $0.requiresGrad }) {
            return Variable(value: value, parents: parents, backward: backward)
        }
        return Variable(value)
    }

    /// Reverse-mode sweep from this node. `seed` defaults to ones (a scalar loss gives 1).
    /// Gradients accumulate into `grad` of every node that requires one; call `zeroGrad` on
    /// parameters between steps.
    public func backward(seed: Tensor? = nil) throws {
        let start = seed ?? Tensor(repeating: 1, shape: value.shape)
        guard start.shape == value.shape else {
            throw EngineError.shapeMismatch(op: "backward(seed:)", lhs: start.shape, rhs: value.shape)
        }
        // Topological order by iterative DFS (graphs of long sequences would overflow recursion).
        var order: [Variable] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Variable, Bool)] = [(self, false)]
        while let (node, expanded) = stack.popLast() {
            if expanded { order.append(node); continue }
            if visited.contains(ObjectIdentifier(node)) { continue }
            visited.insert(ObjectIdentifier(node))
            stack.append((node, true))
            for p in node.parents where p.requiresGrad && !visited.contains(ObjectIdentifier(p)) {
                stack.append((p, false))
            }
        }
        var grads: [ObjectIdentifier: Tensor] = [ObjectIdentifier(self): start]
        for node in order.reversed() {
            guard let g = grads.removeValue(forKey: ObjectIdentifier(node)) else { continue }
            if node.parents.isEmpty || node.backwardFn == nil {
                node.grad = try node.grad.map { try $0 + g } ?? g
                continue
            }
            let pgs = try node.backwardFn!(g)
            for (p, pg) in zip(node.parents, pgs) where p.requiresGrad {
                guard let pg else { continue }
                guard pg.shape == p.value.shape else {
                    throw EngineError.shapeMismatch(op: "backward (gradient for parent)", lhs: pg.shape, rhs: p.value.shape,
                                                    hint: "an op's backward returned the wrong shape")
                }
                let k = ObjectIdentifier(p)
                grads[k] = try grads[k].map { try $0 + pg } ?? pg
            }
        }
    }

    public func zeroGrad() { grad = nil }

    /// The same value, cut from the graph.
    public func detached() -> Variable { Variable(value) }
}
