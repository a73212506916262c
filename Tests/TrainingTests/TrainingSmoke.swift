import Testing
@testable import Training
@Test func TrainingTargetLinks() { #expect(Bool(true)) }
