// The render micro-benchmark: how long one full frame of a realistic screen (DemoApp: every
// widget, 64×48 raster and heatmap) takes to render into a ScreenBuffer and diff against the
// previous frame, as the backend does. Not terminal I/O time: curses output is excluded.

public enum RenderBenchmark {
    /// Mean milliseconds per frame over `frames` frames at `size` (default 200×60), alternating
    /// the step so consecutive frames differ. One warm-up frame is not counted.
    public static func benchmarkRender(frames: Int, size: Size = Size(width: 200, height: 60),
                                       caps: Capabilities = .full) -> Double {
        var app = DemoApp(caps: caps)
        var previous = Frame.render(&app, size: size, caps: caps)
        let n = max(1, frames)
        let clock = ContinuousClock()
        var changed = 0
        let elapsed = clock.measure {
            for i in 0..<n {
                _ = app.handle(i % 2 == 0 ? .right : .left)
                let buf = Frame.render(&app, size: size, caps: caps)
                changed &+= buf.diff(from: previous).count
                previous = buf
            }
        }
        precondition(changed >= 0)
        let c = elapsed.components
        let ms = Double(c.seconds) * 1000 + Double(c.attoseconds) / 1e15
        return ms / Double(n)
    }
}

/// Free-function spelling used by `spikescope bench tui`.
public func benchmarkRender(frames: Int) -> Double { RenderBenchmark.benchmarkRender(frames: frames) }
