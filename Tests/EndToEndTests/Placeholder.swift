import Testing
@Test func endToEndPlaceholderRuns() { #expect(1 + 1 == 2) }
