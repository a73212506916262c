// Snapshot support for widget and view tests (STYLE.md): fill a buffer with '·' so stray and
// missing writes show, render, and compare `lines()` with Snapshots/<name>.txt beside this file.
// RECORD_SNAPSHOTS=1 rewrites the file and fails the test, so the diff must be read.
import Foundation
import Testing
import TUI

enum Snapshot {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Snapshots")

    /// A `width`×`height` buffer of '·' cells.
    static func canvas(_ width: Int, _ height: Int) -> ScreenBuffer {
        ScreenBuffer(width: width, height: height, fill: Cell("·"))
    }

    /// Renders `widget` on a '·' canvas (area = whole canvas unless given) and compares.
    static func check(_ widget: some Widget, width: Int, height: Int, area: Rect? = nil, named name: String,
                      sourceLocation: SourceLocation = #_sourceLocation) {
        var buf = canvas(width, height)
        widget.render(in: area ?? buf.area, into: &buf)
        check(buf, named: name, sourceLocation: sourceLocation)
    }

    static func check(_ buf: ScreenBuffer, named name: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let actual = buf.lines().joined(separator: "\n") + "\n"
        let url = directory.appendingPathComponent("\(name).txt")
        let record = ProcessInfo.processInfo.environment["RECORD_SNAPSHOTS"] == "1"
        guard !record, let expected = try? String(contentsOf: url, encoding: .utf8) else {
            try? actual.write(to: url, atomically: true, encoding: .utf8)
            Issue.record("recorded snapshot \(name).txt; read it, then rerun without RECORD_SNAPSHOTS",
                         sourceLocation: sourceLocation)
            return
        }
        if expected != actual {
            Issue.record("snapshot \(name) differs.\n--- expected\n\(expected)--- actual\n\(actual)",
                         sourceLocation: sourceLocation)
        }
    }
}
