// Widget behaviour with hand-derived expectations: glyph mapping, styles (which snapshots of
// symbols cannot show), monochrome/ASCII selection and text editing.
import Testing
import TUI

@Suite struct WidgetBehaviourTests {
    @Test func sparklineLevelsAreProportional() {
        // max 8 over one row of 8 levels: value v → level v, 0 draws nothing.
        var b = Snapshot.canvas(9, 1)
        Sparkline([0, 1, 2, 3, 4, 5, 6, 7, 8], caps: .full).render(in: b.area, into: &b)
        #expect(b.lines() == ["·▁▂▃▄▅▆▇█"])
        // Only the newest 4 values [8, 8, 4, 8] fit; 4 of max 8 is level 4 of 8 ("~" in ASCII).
        var n = Snapshot.canvas(4, 1)
        Sparkline([1, 8, 8, 4, 8], caps: .ascii).render(in: n.area, into: &n)
        #expect(n.lines() == ["##~#"])
    }

    @Test func barGaugeEighths() {
        // 0.53 of 10 cells = 5.3 cells = 42.4 eighths → 42 = 5 full + 2/8 (▎).
        var b = Snapshot.canvas(16, 1)
        BarGauge(value: 0.53, caps: .full).render(in: b.area, into: &b)
        #expect(b.lines() == ["█████▎     53.0%"])
    }

    @Test func rasterGlyphsAndCursor() {
        let vals: [Float] = [1, -1, 0, 3]
        var b = Snapshot.canvas(4, 1)
        Raster(values: vals, rows: 1, columns: 4, cursorColumn: 2, caps: .full).render(in: b.area, into: &b)
        #expect(b.lines() == ["█▒ 3"])
        #expect(b[2, 0].attributes.contains(.reverse))
        #expect(!b[1, 0].attributes.contains(.reverse))
        #expect(b[0, 0].foreground == Raster.positiveStyle.foreground)
        #expect(b[1, 0].foreground == Raster.negativeStyle.foreground)
        var a = Snapshot.canvas(4, 1)
        Raster(values: vals, rows: 1, columns: 4, caps: .ascii).render(in: a.area, into: &a)
        #expect(a.lines() == ["+-.3"])
        #expect(a[0, 0].foreground == .default, "monochrome draws no colour")
    }

    @Test func heatmapThresholdIsDistinct() {
        var b = Snapshot.canvas(3, 1)
        Heatmap(values: [0, 0.5, 1], rows: 1, columns: 3, range: 0...1, threshold: 0.9, caps: .full).render(in: b.area, into: &b)
        // 0 → ramp[0] " ", 0.5 → round(0.5*4)=2 → "▒", 1 ≥ 0.9 → threshold glyph.
        #expect(b.lines() == [" ▒◆"])
        #expect(b[2, 0].background == Heatmap.thresholdStyle.background)
        #expect(b[0, 0].foreground == Heatmap.colorRamp.first && b[1, 0].foreground != b[0, 0].foreground)
        var a = Snapshot.canvas(3, 1)
        Heatmap(values: [0, 0.5, 1], rows: 1, columns: 3, range: 0...1, threshold: 0.9, caps: .ascii).render(in: a.area, into: &a)
        // 0.5 → round(0.5*9)=5 (round half away from zero: 4.5 → 5) → "+".
        #expect(a.lines() == [" +X"])
    }

    @Test func listHighlightsSelection() {
        var b = Snapshot.canvas(8, 2)
        ListView(["a", "b"], state: ScrollState(selected: 1), caps: .ascii).render(in: b.area, into: &b)
        #expect(b.lines() == ["  a     ", "> b     "])
        #expect(b[2, 1].attributes.contains(.reverse))
        #expect(!b[2, 0].attributes.contains(.reverse))
    }

    @Test func scrollStateKeepsSelectionVisible() {
        var s = ScrollState(selected: 0)
        s.move(by: 7, count: 10)
        s.ensureVisible(height: 3, count: 10)
        #expect(s.selected == 7 && s.offset == 5)
        s.move(by: -100, count: 10)
        s.ensureVisible(height: 3, count: 10)
        #expect(s.selected == 0 && s.offset == 0)
        s.move(by: 1, count: 0)
        #expect(s.selected == nil)
    }

    @Test func textFieldEditing() {
        var s = TextFieldState("ac")
        s.handle(.left); s.handle(.char("b"))
        #expect(s.text == "abc" && s.cursor == 2)
        s.handle(.home); s.handle(.delete)
        #expect(s.text == "bc" && s.cursor == 0)
        s.handle(.end); s.handle(.backspace); s.handle(.backspace); s.handle(.backspace)
        #expect(s.text == "" && s.cursor == 0)
        s.handle(.char("漢")); s.handle(.char("x"))
        #expect(s.text == "漢x")
        #expect(s.handle(.enter) == false)
        var b = ScreenBuffer(width: 6, height: 1)
        TextField(s).render(in: b.area, into: &b)
        #expect(b.cursor == Position(x: 3, y: 0))
        #expect(b[3, 0].attributes.contains(.reverse))
    }

    @Test func lineTruncatesAcrossSpans() {
        var b = Snapshot.canvas(6, 1)
        Line([Span("ab", style: .bold), Span("cdefgh")]).render(in: b.area, into: &b)
        #expect(b.lines() == ["abcde…"])
        #expect(b[0, 0].attributes == .bold && b[2, 0].attributes == [])
    }
}

@Suite struct CapabilitiesTests {
    @Test(arguments: [
        ([String: String](), "UTF-8", 256, Capabilities(unicode: true, color: true, colorCount: 256)),
        (["NO_COLOR": "1"], "UTF-8", 256, Capabilities(unicode: true, color: false, colorCount: 0)),
        (["NO_COLOR": ""], "utf8", 8, Capabilities(unicode: true, color: true, colorCount: 8)),
        ([:], "ANSI_X3.4-1968", 256, Capabilities(unicode: false, color: false, colorCount: 0)),
        ([:], nil, 256, Capabilities(unicode: false, color: false, colorCount: 0)),
        (["TERM": "dumb"], "UTF-8", 0, Capabilities(unicode: true, color: false, colorCount: 0)),
    ])
    func detect(env: [String: String], codeset: String?, colors: Int, expected: Capabilities) {
        #expect(Capabilities.detect(environment: env, codeset: codeset, colors: colors) == expected)
    }

    @Test func glyphSetsAreASCIIOrUnicode() {
        let a = Glyphs.ascii
        let all: [Character] = [a.horizontal, a.vertical, a.topLeft, a.ellipsis, a.heatThreshold, a.spikePositive,
                                a.spikeNegative, a.spikeZero, a.rule, a.point, a.barEmpty] + a.levels + a.heat + a.barEighths
        #expect(all.allSatisfy { $0.isASCII })
        #expect(a.heat.map { String($0) }.joined() == " .:-=+*#%@")
        #expect(Glyphs.unicode.levels.map { String($0) }.joined() == "▁▂▃▄▅▆▇█")
    }

    @Test func colorDownMapping() {
        #expect(Color.indexed(9).standard8 == .red)
        #expect(Color.cube(5, 0, 0).standard8 == .red)
        #expect(Color.cube(0, 5, 5).standard8 == .cyan)
        #expect(Color.grey(20).standard8 == .white)
        #expect(Color.default.standard8 == .default)
    }
}

@Suite struct KeyMapTests {
    @Test func noKeyIsBoundTwice() {
        var seen: [KeyEvent: String] = [:]
        for b in KeyMap.standard.all {
            for k in b.keys {
                #expect(seen[k] == nil, "\(k) bound to both '\(seen[k] ?? "")' and '\(b.description)'")
                seen[k] = b.description
            }
        }
    }

    @Test func issueSevenBindingsArePresent() {
        let m = KeyMap.standard
        #expect(m.quit.matches(.char("q")) && m.help.matches(.char("?")))
        #expect(m.stepBack.matches(.left) && m.stepForward.matches(.right))
        #expect(m.tokenPrevious.matches(.char("[")) && m.tokenNext.matches(.char("]")))
        #expect(m.sitePrevious.matches(.up) && m.siteNext.matches(.down))
        #expect(m.neuronsPageUp.matches(.pageUp) && m.neuronsPageDown.matches(.pageDown))
        #expect(m.focusNext.matches(.tab) && m.frequencyUp.matches(.char("+")) && m.frequencyDown.matches(.char("-")))
        #expect(m.allSites.matches(.char("a")) && m.thresholdDown.matches(.char("<")) && m.thresholdUp.matches(.char(">")))
        #expect((1...8).allSatisfy { m.timesteps.matches(.char(Character(String($0)))) } && !m.timesteps.matches(.char("9")))
        #expect(m.editPrompt.matches(.char("p")) && m.glueRow.matches(.char("g")))
        #expect(m.nextRow.matches(.char("n")) && m.previousRow.matches(.char("N")) && m.run.matches(.enter))
        #expect(m.training.matches(.char("b")) && m.reloadCheckpoint.matches(.char("r")))
        #expect(m.save.matches(.char("s")) && m.export.matches(.char("e")))
    }

    @Test func helpListsEveryBinding() {
        let text = KeyMap.standard.helpLines(.full).map(\.plainText).joined(separator: "\n")
        for b in KeyMap.standard.all { #expect(text.contains(b.description)) }
        #expect(text.contains("←"))
        let ascii = KeyMap.standard.helpLines(.ascii).map(\.plainText).joined()
        #expect(ascii.allSatisfy { $0.isASCII })
        #expect(KeyEvent.char("7").digit == 7 && KeyEvent.char("x").digit == nil)
        #expect(KeyEvent.ctrlC == .ctrl("c"))
    }
}

/// Escape sequences decoded whatever terminfo says (issue: with TERM=xterm-256color inside tmux,
/// Home/End arrived as '[' and a digit and moved the step / changed T).
@Suite struct EscapeSequenceTests {
    func seq(_ s: String) -> [UInt32] { s.unicodeScalars.map(\.value) }

    @Test func keysFromEveryCommonEncoding() {
        let table: [(String, KeyEvent)] = [
            ("[1~", .home), ("[7~", .home), ("[H", .home), ("OH", .home),
            ("[4~", .end), ("[8~", .end), ("[F", .end), ("OF", .end),
            ("[5~", .pageUp), ("[6~", .pageDown), ("[3~", .delete), ("[2~", .insert),
            ("[A", .up), ("OB", .down), ("[C", .right), ("OD", .left), ("[Z", .backTab),
        ]
        for (s, e) in table {
            #expect(EscapeSequence.isComplete(seq(s)), "\(s)")
            #expect(EscapeSequence.decode(seq(s)) == e, "\(s)")
        }
    }

    @Test func sgrMouseReports() {
        #expect(EscapeSequence.decode(seq("[<0;10;5M")) == .mouse(.left, x: 9, y: 4))
        #expect(EscapeSequence.decode(seq("[<64;1;1M")) == .mouse(.wheelUp, x: 0, y: 0))
        #expect(EscapeSequence.decode(seq("[<65;3;2M")) == .mouse(.wheelDown, x: 2, y: 1))
        #expect(EscapeSequence.decode(seq("[<0;10;5m")) == nil)  // a release is no click
        #expect(!EscapeSequence.isComplete(seq("[<")) && !EscapeSequence.isComplete(seq("[<0;1")))
        #expect(EscapeSequence.isComplete(seq("[<0;10;5M")))
    }

    @Test func incompleteAndUnknown() {
        #expect(!EscapeSequence.isComplete(seq("[")) && !EscapeSequence.isComplete(seq("[1")) && !EscapeSequence.isComplete(seq("O")))
        #expect(EscapeSequence.decode(seq("[99~")) == nil)
        #expect(EscapeSequence.isComplete(seq("x")))  // Alt+x: one character
    }
}
