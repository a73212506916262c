// Frame rendering of the real workbench: the too-small screen at every tiny size (never a trap),
// and its snapshot.
import Testing
import Foundation
import TUI
@testable import Workbench
import Models
import Formats

@Suite struct FrameTests {
    @Test(arguments: [(1, 1), (2, 1), (20, 6), (59, 16), (79, 24), (80, 23), (0, 0), (3, 40)])
    func tooSmallNeverTrapsAndSaysSo(width: Int, height: Int) throws {
        var app = try WorkbenchAppTests().app()
        let need = app.minimumSize
        let buf = Frame.render(&app, size: Size(width: width, height: height), caps: .full)
        #expect(buf.width == width && buf.height == height)
        if width >= 20 && height >= 3 {
            let text = buf.lines().joined(separator: " ")
            #expect(text.contains("too small"))
            #expect(text.contains("\(need.width)×\(need.height)"))
        }
    }

    @Test func tooSmallSnapshot() throws {
        var app = try WorkbenchAppTests().app()
        Snapshot.check(Frame.render(&app, size: Size(width: 20, height: 6), caps: .full), named: "workbench_too_small_20x6")
    }
}
