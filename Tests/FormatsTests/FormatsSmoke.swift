import Testing
@testable import Formats
@Test func FormatsTargetLinks() { #expect(Bool(true)) }
