// BackgroundTraining: the TUI's `b` and `r` keys. Placeholder until the Training target's
// background job is wired in: it says so instead of pretending.
import Workbench

enum BackgroundTraining {
    static func toggle(workbench: Workbench, sessionDir: String) -> @Sendable () -> String {
        { "background training is not available in this build yet" }
    }
    @Sendable static func status() -> TrainingStatus? { nil }
    static func reload(workbench: Workbench, sessionDir: String) -> String { "no checkpoint in \(sessionDir)/checkpoints" }
}
