// Colour, text attributes and Style: how a cell looks, independent of any terminal.
// Not a terminal capability check: the backend maps 256 colours down to 8/16 when needed and
// drops colour entirely in monochrome mode (NO_COLOR); widgets never rely on colour alone.

/// A terminal colour: the terminal's default, or one of the 256 indexed colours
/// (0-7 standard, 8-15 bright, 16-231 a 6×6×6 cube, 232-255 a grey ramp; xterm's layout).
public enum Color: Hashable, Sendable {
    case `default`
    case indexed(UInt8)

    public static let black = Color.indexed(0)
    public static let red = Color.indexed(1)
    public static let green = Color.indexed(2)
    public static let yellow = Color.indexed(3)
    public static let blue = Color.indexed(4)
    public static let magenta = Color.indexed(5)
    public static let cyan = Color.indexed(6)
    public static let white = Color.indexed(7)
    public static let gray = Color.indexed(8)
    public static let brightRed = Color.indexed(9)
    public static let brightGreen = Color.indexed(10)
    public static let brightYellow = Color.indexed(11)
    public static let brightBlue = Color.indexed(12)
    public static let brightMagenta = Color.indexed(13)
    public static let brightCyan = Color.indexed(14)
    public static let brightWhite = Color.indexed(15)

    /// A colour from the 6×6×6 cube; each component 0...5 (xterm index 16 + 36r + 6g + b).
    public static func cube(_ r: Int, _ g: Int, _ b: Int) -> Color {
        let c = { (v: Int) in min(max(v, 0), 5) }
        return .indexed(UInt8(16 + 36 * c(r) + 6 * c(g) + c(b)))
    }
    /// A grey from the 24-step ramp; level 0...23 (xterm index 232 + level).
    public static func grey(_ level: Int) -> Color { .indexed(UInt8(232 + min(max(level, 0), 23))) }

    /// The nearest of the 8 standard colours, for terminals with fewer than 256 colours.
    /// Cube and grey entries map by thresholding each RGB component at half intensity.
    public var standard8: Color {
        guard case .indexed(let i) = self else { return self }
        switch i {
        case 0..<8: return self
        case 8..<16: return .indexed(i - 8)
        case 16..<232:
            let v = Int(i) - 16
            let r = v / 36, g = (v / 6) % 6, b = v % 6
            let bit = { (c: Int) in c >= 3 ? 1 : 0 }
            // xterm's standard order: bit 0 red, bit 1 green, bit 2 blue.
            return .indexed(UInt8(bit(r) | bit(g) << 1 | bit(b) << 2))
        default:
            return Int(i) - 232 >= 12 ? .white : .black
        }
    }
}

/// Text attributes a terminal can show.
public struct Attributes: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let bold = Attributes(rawValue: 1 << 0)
    public static let reverse = Attributes(rawValue: 1 << 1)
    public static let underline = Attributes(rawValue: 1 << 2)
    public static let dim = Attributes(rawValue: 1 << 3)
}

/// A style patch: nil colours leave the cell's colour as it is. When text is written the cell's
/// attributes become `attributes`; `ScreenBuffer.setStyle` instead adds them (for highlights).
public struct Style: Hashable, Sendable {
    public var foreground: Color?
    public var background: Color?
    public var attributes: Attributes

    public init(fg: Color? = nil, bg: Color? = nil, _ attributes: Attributes = []) {
        self.foreground = fg
        self.background = bg
        self.attributes = attributes
    }

    public static let plain = Style()
    public static let bold = Style(.bold)
    public static let reverse = Style(.reverse)
    public static let underline = Style(.underline)
    public static let dim = Style(.dim)

    public func fg(_ c: Color?) -> Style { var s = self; s.foreground = c; return s }
    public func bg(_ c: Color?) -> Style { var s = self; s.background = c; return s }
    public func adding(_ a: Attributes) -> Style { var s = self; s.attributes.formUnion(a); return s }

    /// This style with colours removed when `caps` is monochrome (attributes stay).
    public func resolved(for caps: Capabilities) -> Style {
        caps.color ? self : Style(attributes)
    }
}
