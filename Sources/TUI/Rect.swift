// Rect, Size and Constraint: screen geometry in cells and the row/column split helpers.
// Not a constraint solver: fixed and percentage sizes are granted first, in order, then "fill"
// parts share what is left by weight. Nothing here ever produces a negative size.

/// A size in terminal cells.
public struct Size: Hashable, Sendable, CustomStringConvertible {
    public var width: Int
    public var height: Int
    public init(width: Int, height: Int) {
        self.width = max(0, width)
        self.height = max(0, height)
    }
    public var description: String { "\(width)×\(height)" }
}

/// How much of a split one part asks for.
public enum Constraint: Hashable, Sendable {
    /// Exactly `n` cells (less if the area runs out).
    case fixed(Int)
    /// `p` percent of the whole length, rounded down.
    case percent(Int)
    /// A share of what fixed and percent parts left, proportional to `weight`.
    case fill(Int = 1)
}

/// A rectangle of cells; (x, y) is the top-left corner, y grows downwards.
public struct Rect: Hashable, Sendable, CustomStringConvertible {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = max(0, width)
        self.height = max(0, height)
    }
    public init(size: Size) { self.init(x: 0, y: 0, width: size.width, height: size.height) }

    public var size: Size { Size(width: width, height: height) }
    public var isEmpty: Bool { width == 0 || height == 0 }
    public var area: Int { width * height }
    /// One past the last column / row.
    public var right: Int { x + width }
    public var bottom: Int { y + height }
    public var description: String { "Rect(\(x),\(y) \(width)×\(height))" }

    public func contains(x px: Int, y py: Int) -> Bool {
        px >= x && px < right && py >= y && py < bottom
    }

    /// The overlap of two rects (empty, at self's origin, if they do not meet).
    public func intersection(_ other: Rect) -> Rect {
        let x0 = max(x, other.x), y0 = max(y, other.y)
        let x1 = min(right, other.right), y1 = min(bottom, other.bottom)
        if x1 <= x0 || y1 <= y0 { return Rect(x: x, y: y, width: 0, height: 0) }
        return Rect(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
    }

    /// Shrinks by the given margins (never below zero size).
    public func inset(top: Int = 0, left: Int = 0, bottom b: Int = 0, right r: Int = 0) -> Rect {
        let w = max(0, width - left - r), h = max(0, height - top - b)
        return Rect(x: x + min(left, width), y: y + min(top, height), width: w, height: h)
    }
    public func inset(by n: Int) -> Rect { inset(top: n, left: n, bottom: n, right: n) }

    /// A rect of at most `width`×`height` centred inside self.
    public func centered(width w: Int, height h: Int) -> Rect {
        let cw = min(max(0, w), width), ch = min(max(0, h), height)
        return Rect(x: x + (width - cw) / 2, y: y + (height - ch) / 2, width: cw, height: ch)
    }

    /// Splits top to bottom. `spacing` blank rows go between parts.
    public func rows(_ constraints: [Constraint], spacing: Int = 0) -> [Rect] {
        let lengths = Rect.split(length: height, constraints, spacing: spacing)
        var out: [Rect] = []
        var cy = y
        for len in lengths {
            out.append(Rect(x: x, y: cy, width: width, height: len))
            cy += len + spacing
        }
        return out
    }

    /// Splits left to right. `spacing` blank columns go between parts.
    public func columns(_ constraints: [Constraint], spacing: Int = 0) -> [Rect] {
        let lengths = Rect.split(length: width, constraints, spacing: spacing)
        var out: [Rect] = []
        var cx = x
        for len in lengths {
            out.append(Rect(x: cx, y: y, width: len, height: height))
            cx += len + spacing
        }
        return out
    }

    /// The lengths of a split of `length` cells. Fixed and percent parts are granted first in
    /// order (clamped to what remains); fill parts share the remainder by weight, the last fill
    /// part taking the rounding leftovers. The sum never exceeds `length`.
    public static func split(length: Int, _ constraints: [Constraint], spacing: Int = 0) -> [Int] {
        let n = constraints.count
        guard n > 0 else { return [] }
        let gaps = max(0, spacing) * (n - 1)
        var remaining = max(0, length - gaps)
        let total = remaining
        var out = Array(repeating: 0, count: n)
        for (i, c) in constraints.enumerated() {
            switch c {
            case .fixed(let k):
                out[i] = min(max(0, k), remaining)
            case .percent(let p):
                out[i] = min(total * min(max(0, p), 100) / 100, remaining)
            case .fill:
                continue
            }
            remaining -= out[i]
        }
        let fills = constraints.enumerated().compactMap { (i, c) -> (Int, Int)? in
            if case .fill(let w) = c { return (i, max(0, w)) } else { return nil }
        }
        let weightSum = fills.reduce(0) { $0 + $1.1 }
        if !fills.isEmpty {
            var given = 0
            for (j, (i, w)) in fills.enumerated() {
                let share = j == fills.count - 1
                    ? remaining - given
                    : (weightSum == 0 ? 0 : remaining * w / weightSum)
                out[i] = max(0, share)
                given += out[i]
            }
        }
        return out
    }
}
