import Testing
@testable import TUI
@Test func TUITargetLinks() { #expect(Bool(true)) }
