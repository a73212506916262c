// Embedding lookup: rows of a table [V, C] gathered by integer ids.
//
// What it is: forward on Tensor and differentiable on Variable (the table gets the gradient).
// What it is not: a padding-aware or sparse embedding (every id's row receives its gradient).
//
// Shapes: table [V, C], ids (N values, laid out as `shape`, e.g. [N] or [B, L]) → y [shape..., C].
//   y[n, :] = table[ids[n], :]
// Backward (scatter-add, ids may repeat): dtable[ids[n], :] += g[n, :]

import Foundation

extension Tensor {
    private static func checkIds(_ table: [Int], _ ids: [Int], _ shape: [Int]?) throws -> [Int] {
        guard table.count == 2 else {
            throw EngineError.invalidShape(op: "embedding", shape: table, reason: "the table must be [V, C]")
        }
        let s = shape ?? [ids.count]
        guard s.reduce(1, *) == ids.count else {
            throw EngineError.invalidArgument(op: "embedding", reason: "\(ids.count) ids do not fill shape \(s)")
        }
        let v = table[0]
        if let bad = ids.firstIndex(where: { $0 < 0 || $0 >= v }) {
            throw EngineError.invalidArgument(op: "embedding",
                reason: "id \(ids[bad]) at position \(bad) is outside the vocabulary 0..<\(v). Hint: tokenizer and checkpoint disagree?")
        }
        return s
    }

    /// Gathers rows `ids` of this [V, C] table; the result is `shape + [C]` (shape defaults to [ids.count]).
    public func embedding(ids: [Int], shape: [Int]? = nil) throws -> Tensor {
        let s = try Tensor.checkIds(self.shape, ids, shape)
        let c = self.shape[1]
        let (out, o) = Tensor.makeOutput(s + [c])
        withContiguousPointer { p in
            for (n, id) in ids.enumerated() { (o + n * c).update(from: p + id * c, count: c) }
        }
        return out
    }
}

extension Variable {
    /// Differentiable row gather from this [V, C] table (see the file header).
    public func embedding(ids: [Int], shape: [Int]? = nil) throws -> Variable {
        let y = try value.embedding(ids: ids, shape: shape)
        let tableShape = self.shape
        return Variable.make(y, parents: [self]) { g in
            let c = tableShape[1]
            let (dt, o) = Tensor.makeOutput(tableShape)
            g.withContiguousPointer { pg in
                for (n, id) in ids.enumerated() {
                    let dst = o + id * c, src = pg + n * c
                    for j in 0..<c { dst[j] += src[j] }
                }
            }
            return [dt]
        }
    }
}
