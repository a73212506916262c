// TrainingJob: a `Trainer` running on its own thread, observed and steered from any other.
//
// What it is: a dedicated `Thread` (never the UI thread or the Swift concurrency pool, whose
// few threads a minutes-long CPU loop would starve). The trainer is *built on* that thread from a
// `@Sendable` factory, so its non-Sendable Variables never cross threads. Snapshots go out through
// a lock-protected `latest` value and an `AsyncStream`; pause/resume/stop go in through
// `TrainingControl` and take effect between steps.
// What it is not: a scheduler of several jobs, or a process boundary (a crash takes the app down;
// checkpoints are what survives).

import Foundation

public final class TrainingJob: @unchecked Sendable {
    public let control = TrainingControl()
    /// Every snapshot, in order. Finishes when the run ends.
    public let updates: AsyncStream<TrainingProgress>
    private let continuation: AsyncStream<TrainingProgress>.Continuation
    private let factory: @Sendable () throws -> Trainer

    // Guarded by `cond`.
    private let cond = NSCondition()
    private var latestProgress = TrainingProgress()
    private var done = false
    private var failure: String?
    private var started = false

    /// `make` runs on the training thread and returns a ready trainer (resumed if wanted).
    public init(make: @escaping @Sendable () throws -> Trainer) {
        factory = make
        (updates, continuation) = AsyncStream.makeStream(of: TrainingProgress.self, bufferingPolicy: .bufferingNewest(256))
    }

    /// Starts the thread (once).
    public func start() {
        cond.lock()
        if started { cond.unlock(); return }
        started = true
        cond.unlock()
        let thread = Thread { [self] in self.body() }
        thread.name = "spikescope.training"
        thread.stackSize = 16 << 20  // deep graphs: backward walks iteratively, but ops recurse a little
        thread.start()
    }

    private func body() {
        do {
            let trainer = try factory()
            try trainer.run(control: control) { [self] p in publish(p) }
        } catch {
            cond.lock(); failure = "\(error)"; cond.unlock()
            var p = latest
            p.phase = .failed
            p.message = "\(error)"
            publish(p)
        }
        cond.lock(); done = true; cond.broadcast(); cond.unlock()
        continuation.finish()
    }

    private func publish(_ p: TrainingProgress) {
        cond.lock(); latestProgress = p; cond.unlock()
        continuation.yield(p)
    }

    /// The newest snapshot.
    public var latest: TrainingProgress { cond.lock(); defer { cond.unlock() }; return latestProgress }
    public var isDone: Bool { cond.lock(); defer { cond.unlock() }; return done }

    public func pause() { control.pause() }
    public func resume() { control.resume() }
    public func stop() { control.stop() }

    /// Blocks the caller until the run ends; returns the error text if it failed.
    @discardableResult
    public func wait(timeout: TimeInterval = .infinity) -> String? {
        cond.lock(); defer { cond.unlock() }
        let deadline = Date().addingTimeInterval(min(timeout, 1e9))
        while !done { if !cond.wait(until: deadline) { break } }
        return failure
    }
}
