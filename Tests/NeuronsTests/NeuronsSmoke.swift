import Testing
@testable import Neurons
@Test func NeuronsTargetLinks() { #expect(Bool(true)) }
