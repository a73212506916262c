// Frame rendering (the too-small screen, tiny sizes) and the DemoApp driven by key events.
import Testing
import TUI

@Suite struct FrameTests {
    @Test(arguments: [(1, 1), (2, 1), (20, 6), (59, 16), (60, 15), (0, 0), (3, 40)])
    func tooSmallNeverTrapsAndSaysSo(width: Int, height: Int) {
        var app = DemoApp()
        let buf = Frame.render(&app, size: Size(width: width, height: height), caps: .full)
        #expect(buf.width == width && buf.height == height)
        if width >= 20 && height >= 3 {
            let text = buf.lines().joined(separator: " ")
            #expect(text.contains("too small"))
            #expect(text.contains("60×16"))
        }
    }

    @Test func tooSmallSnapshot() {
        var app = DemoApp()
        Snapshot.check(Frame.render(&app, size: Size(width: 20, height: 6), caps: .full), named: "frame_too_small_20x6")
    }

    @Test func demoScreens() {
        var app = DemoApp(caps: .full)
        Snapshot.check(Frame.render(&app, size: Size(width: 90, height: 24), caps: .full), named: "demo_unicode_90x24")
        var ascii = DemoApp(caps: .ascii)
        Snapshot.check(Frame.render(&ascii, size: Size(width: 90, height: 24), caps: .ascii), named: "demo_ascii_90x24")
        _ = app.handle(.char("?"))
        Snapshot.check(Frame.render(&app, size: Size(width: 90, height: 24), caps: .full), named: "demo_help_90x24")
    }

    @Test func demoKeysChangeTheScreen() {
        var app = DemoApp()
        let size = Size(width: 80, height: 24)
        let before = Frame.render(&app, size: size, caps: .full)
        #expect(app.handle(.right) == .continue)
        let afterStep = Frame.render(&app, size: size, caps: .full)
        #expect(afterStep.lines()[0].contains("step 2/48"))
        #expect(!afterStep.diff(from: before).isEmpty)
        _ = app.handle(.char("+"))
        #expect(Frame.render(&app, size: size, caps: .full).lines()[0].contains("k=5"))
        _ = app.handle(.char("?"))
        #expect(Frame.render(&app, size: size, caps: .full).lines().joined().contains("Help"))
        _ = app.handle(.escape)
        #expect(!Frame.render(&app, size: size, caps: .full).lines().joined().contains("Help ("))
        _ = app.handle(.char("p"))
        for c in "!x" { _ = app.handle(.char(c)) }
        _ = app.handle(.enter)
        #expect(app.field.text == "The quick brown fox!x")
        #expect(app.handle(.char("q")) == .quit)
    }

    @Test func benchmarkRenderReturnsAPositiveTime() {
        let ms = RenderBenchmark.benchmarkRender(frames: 10)
        print("benchmarkRender 200x60 (this build): \(ms) ms/frame")
        #expect(ms > 0 && ms.isFinite)
    }
}
