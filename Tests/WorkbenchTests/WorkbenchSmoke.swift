import Testing
@testable import Workbench
@Test func WorkbenchTargetLinks() { #expect(Bool(true)) }
