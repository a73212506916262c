// ScreenBuffer, Rect and text-fitting behaviour, with expectations written by hand.
import Testing
import TUI

@Suite struct ScreenBufferTests {
    @Test func writeClipsToRectAndBuffer() {
        var b = Snapshot.canvas(8, 2)
        let end = b.write("abcdef", x: 2, y: 0, clip: Rect(x: 0, y: 0, width: 6, height: 1))
        #expect(b.lines() == ["··abcd··", "········"])
        #expect(end == 6)
        b.write("xyz", x: 6, y: 1)           // runs off the right edge
        b.write("123", x: -2, y: 1)          // starts left of the buffer: only "3" shows
        b.write("never", x: 0, y: 5)         // below the buffer: ignored
        #expect(b.lines() == ["··abcd··", "3·····xy"])
    }

    @Test func wideCharactersTakeTwoCells() {
        var b = Snapshot.canvas(6, 1)
        let end = b.write("a漢b", x: 0, y: 0)
        #expect(end == 4)
        #expect(b[1, 0].symbol == "漢")
        #expect(b[2, 0].isContinuation)
        #expect(b[3, 0].symbol == "b")
        #expect(b.lines() == ["a漢b··"])
        #expect("a漢b🙂".terminalWidth == 6)
        #expect(Character("é").terminalWidth == 1)
        #expect(Character("\u{301}").terminalWidth == 0)
    }

    @Test func wideCharacterAtClipEdgeBecomesSpace() {
        var b = Snapshot.canvas(5, 1)
        b.write("ab漢", x: 0, y: 0, clip: Rect(x: 0, y: 0, width: 3, height: 1))
        #expect(b.lines() == ["ab ··"])
    }

    @Test func overwritingHalfOfAWideCharacterBlanksTheOtherHalf() {
        var b = Snapshot.canvas(4, 1)
        b.write("漢字", x: 0, y: 0)
        b.write("x", x: 1, y: 0)   // right half of 漢
        #expect(b.lines() == [" x字"])
        b.write("y", x: 2, y: 0)   // left half of 字
        #expect(b.lines() == [" xy "])
    }

    @Test func controlCharactersAreSkipped() {
        var b = Snapshot.canvas(4, 1)
        b.write("a\tb\u{7}", x: 0, y: 0)
        #expect(b.lines() == ["ab··"])
    }

    @Test func diffReportsOnlyChangedCells() {
        var a = ScreenBuffer(width: 4, height: 2)
        var b = a
        #expect(b.diff(from: a).isEmpty)
        b.write("x", x: 1, y: 1, style: .bold)
        b.setStyle(.reverse, in: Rect(x: 3, y: 0, width: 1, height: 1))
        let d = b.diff(from: a)
        #expect(d.map { Position(x: $0.x, y: $0.y) } == [Position(x: 3, y: 0), Position(x: 1, y: 1)])
        #expect(d[1].cell.symbol == "x" && d[1].cell.attributes == .bold)
        #expect(b.diff(from: nil).count == 8)
        a = ScreenBuffer(width: 5, height: 2)
        #expect(b.diff(from: a).count == 8, "size change repaints everything")
    }

    @Test func diffOfChangedContinuationIncludesItsWideCharacter() {
        var a = ScreenBuffer(width: 4, height: 1)
        a.write("ab", x: 0, y: 0)
        var b = ScreenBuffer(width: 4, height: 1)
        b.write("a漢", x: 0, y: 0)
        let xs = b.diff(from: a).map(\.x)
        #expect(xs == [1, 2])
    }

    @Test func styleWriteReplacesAttributesAndSetStyleAdds() {
        var b = ScreenBuffer(width: 3, height: 1)
        b.write("abc", x: 0, y: 0, style: Style(fg: .red, .bold))
        b.setStyle(Style(bg: .blue, .reverse), in: Rect(x: 1, y: 0, width: 1, height: 1))
        #expect(b[1, 0].attributes == [.bold, .reverse])
        #expect(b[1, 0].foreground == .red && b[1, 0].background == .blue)
        b.write("z", x: 1, y: 0, style: .underline)
        #expect(b[1, 0].attributes == .underline && b[1, 0].foreground == .red)
    }

    @Test func tinyAndEmptyBuffersNeverTrap() {
        var b = ScreenBuffer(width: 0, height: 0)
        b.write("hello", x: 0, y: 0)
        b.fill(Rect(x: -3, y: -3, width: 10, height: 10), with: Cell("#"))
        #expect(b.lines().isEmpty)
        var one = ScreenBuffer(width: 1, height: 1)
        one.write("漢", x: 0, y: 0)
        #expect(one.lines() == [" "])
    }
}

@Suite struct RectTests {
    @Test func splitFixedPercentFill() {
        // 100 cells: fixed 10, 30% of 100 = 30, fills share 60 as 1:2 → 20, 40.
        #expect(Rect.split(length: 100, [.fixed(10), .percent(30), .fill(1), .fill(2)]) == [10, 30, 20, 40])
        // Spacing 1 between 3 parts leaves 8 of 10; fill takes the rest after 3 and 25% of 8 = 2.
        #expect(Rect.split(length: 10, [.fixed(3), .fill(), .percent(25)], spacing: 1) == [3, 3, 2])
        // Over-allocation clamps later parts to what is left, never negative.
        #expect(Rect.split(length: 5, [.fixed(4), .fixed(4), .fill()]) == [4, 1, 0])
        #expect(Rect.split(length: 0, [.fixed(4), .percent(50), .fill()]) == [0, 0, 0])
    }

    @Test func rowsAndColumnsTileTheRect() {
        let r = Rect(x: 2, y: 3, width: 20, height: 9)
        let rows = r.rows([.fixed(1), .fill(), .fixed(2)])
        #expect(rows == [Rect(x: 2, y: 3, width: 20, height: 1), Rect(x: 2, y: 4, width: 20, height: 6),
                         Rect(x: 2, y: 10, width: 20, height: 2)])
        let cols = r.columns([.percent(50), .fill()], spacing: 2)
        #expect(cols == [Rect(x: 2, y: 3, width: 9, height: 9), Rect(x: 13, y: 3, width: 9, height: 9)])
    }

    @Test func centeredInsetIntersection() {
        let r = Rect(x: 0, y: 0, width: 10, height: 5)
        #expect(r.centered(width: 4, height: 3) == Rect(x: 3, y: 1, width: 4, height: 3))
        #expect(r.centered(width: 40, height: 30) == r)
        #expect(r.inset(by: 1) == Rect(x: 1, y: 1, width: 8, height: 3))
        #expect(Rect(x: 0, y: 0, width: 1, height: 1).inset(by: 1).isEmpty)
        #expect(r.intersection(Rect(x: 8, y: 4, width: 5, height: 5)) == Rect(x: 8, y: 4, width: 2, height: 1))
        #expect(r.intersection(Rect(x: 20, y: 0, width: 5, height: 5)).isEmpty)
    }
}

@Suite struct TextFitTests {
    @Test func truncateWithEllipsis() {
        #expect(TextFit.truncate("hello world", to: 6) == "hello…")
        #expect(TextFit.truncate("hello", to: 5) == "hello")
        #expect(TextFit.truncate("漢字漢字", to: 4) == "漢…")
        #expect(TextFit.truncate("abc", to: 0) == "")
        #expect(TextFit.pad("ab", to: 5, alignment: .right) == "   ab")
        #expect(TextFit.pad("ab", to: 5, alignment: .center) == " ab  ")
    }

    @Test func wrapAtWordsAndHardBreak() {
        #expect(TextFit.wrap("the quick brown fox", width: 10) == ["the quick", "brown fox"])
        #expect(TextFit.wrap("abcdefghij", width: 4) == ["abcd", "efgh", "ij"])
        #expect(TextFit.wrap("a\n\nb", width: 4) == ["a", "", "b"])
        #expect(TextFit.wrap("  key  some longer text", width: 14, hangingIndent: 7)
                == ["  key  some", "       longer", "       text"])
    }
}
