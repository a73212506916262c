import Testing
@testable import Models
@Test func ModelsTargetLinks() { #expect(Bool(true)) }
