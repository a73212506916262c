// Capabilities: what the terminal can show (Unicode glyphs? colour? how many colours?) and the
// glyph set widgets draw with. Widgets take a Capabilities value, so snapshot tests render the
// same widget in Unicode and ASCII. Not detection I/O: `detect` is a pure function of the
// environment, locale codeset and colour count that the backend reads.

/// What the output can display.
public struct Capabilities: Hashable, Sendable {
    /// Unicode glyphs (box drawing, blocks, braille) are available; false means 7-bit ASCII.
    public var unicode: Bool
    /// Colours may be used; false means monochrome (attributes only).
    public var color: Bool
    /// Number of colours the terminal has (8, 16, 256); ignored when `color` is false.
    public var colorCount: Int

    public init(unicode: Bool, color: Bool, colorCount: Int = 256) {
        self.unicode = unicode
        self.color = color
        self.colorCount = colorCount
    }

    /// Full Unicode, 256 colours.
    public static let full = Capabilities(unicode: true, color: true, colorCount: 256)
    /// 7-bit ASCII, no colour: a non-UTF-8 locale or NO_COLOR with a dumb terminal.
    public static let ascii = Capabilities(unicode: false, color: false, colorCount: 0)
    /// Unicode glyphs, no colour (NO_COLOR under a UTF-8 locale).
    public static let unicodeMonochrome = Capabilities(unicode: true, color: false, colorCount: 0)

    /// The glyph set for these capabilities.
    public var glyphs: Glyphs { unicode ? .unicode : .ascii }

    /// Decides capabilities from the environment (https://no-color.org: NO_COLOR present and
    /// non-empty disables colour), the locale's codeset (nl_langinfo(CODESET) after
    /// setlocale(LC_ALL, "")) and the terminal's colour count (curses COLORS; 0 if no colour).
    /// A non-UTF-8 locale gets ASCII and monochrome: such terminals are usually also limited.
    public static func detect(environment: [String: String], codeset: String?, colors: Int) -> Capabilities {
        let cs = (codeset ?? "").uppercased().filter { $0 != "-" }
        let utf8 = cs == "UTF8"
        let noColor = !(environment["NO_COLOR"] ?? "").isEmpty
        let dumb = environment["TERM"] == "dumb"
        let color = utf8 && !noColor && !dumb && colors >= 8
        return Capabilities(unicode: utf8, color: color, colorCount: color ? colors : 0)
    }
}

/// Every glyph a widget draws, in one place, for Unicode and ASCII.
public struct Glyphs: Hashable, Sendable {
    // Borders.
    public var horizontal: Character
    public var vertical: Character
    public var topLeft: Character
    public var topRight: Character
    public var bottomLeft: Character
    public var bottomRight: Character
    /// Cut text ends with this.
    public var ellipsis: Character
    /// Sparkline / histogram levels, lowest first (a value of 0 draws nothing).
    public var levels: [Character]
    /// Horizontal bar partial fills (1/8 … 7/8) then the full block; ASCII has only full.
    public var barEighths: [Character]
    public var barEmpty: Character
    /// Heatmap ramp, coldest first.
    public var heat: [Character]
    /// Heatmap cell at or above the marked threshold.
    public var heatThreshold: Character
    /// Raster glyphs.
    public var spikePositive: Character
    public var spikeNegative: Character
    public var spikeZero: Character
    /// Line plot: a horizontal threshold rule and a point (ASCII mode; Unicode uses braille).
    public var rule: Character
    public var point: Character
    /// List/table selection marker and tab separator.
    public var selection: String
    public var tabSeparator: String
    /// Arrows for key names.
    public var left: String
    public var right: String
    public var up: String
    public var down: String

    public static let unicode = Glyphs(
        horizontal: "─", vertical: "│", topLeft: "┌", topRight: "┐", bottomLeft: "└", bottomRight: "┘",
        ellipsis: "…",
        levels: ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"],
        barEighths: ["▏", "▎", "▍", "▌", "▋", "▊", "▉", "█"], barEmpty: " ",
        heat: [" ", "░", "▒", "▓", "█"], heatThreshold: "◆",
        spikePositive: "█", spikeNegative: "▒", spikeZero: " ",
        rule: "─", point: "•",
        selection: "▶ ", tabSeparator: " │ ",
        left: "←", right: "→", up: "↑", down: "↓")

    /// The ASCII heat ramp is the classic 10-step " .:-=+*#%@" (Paul Bourke's ASCII ramp).
    public static let ascii = Glyphs(
        horizontal: "-", vertical: "|", topLeft: "+", topRight: "+", bottomLeft: "+", bottomRight: "+",
        ellipsis: "~",
        levels: ["_", ".", "-", "~", "=", "+", "*", "#"],
        barEighths: ["#"], barEmpty: ".",
        heat: [" ", ".", ":", "-", "=", "+", "*", "#", "%", "@"], heatThreshold: "X",
        spikePositive: "+", spikeNegative: "-", spikeZero: ".",
        rule: "-", point: "*",
        selection: "> ", tabSeparator: " | ",
        left: "Left", right: "Right", up: "Up", down: "Down")
}
