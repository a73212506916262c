import Testing
@testable import Engine

@Suite struct TensorTests {
    @Test func transposeIsAViewAndContiguousCopies() throws {
        let t = try Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        let tt = try t.transposed()
        #expect(tt.shape == [3, 2])
        #expect(!tt.isContiguous)
        #expect(tt.values == [1, 4, 2, 5, 3, 6])
        #expect(tt[2, 1] == 6)
    }

    @Test func reshapeInfersOneAxisAndRejectsBadCounts() throws {
        let t = Tensor(shape: [4, 6]) { Float($0) }
        #expect(try t.reshaped([-1, 3]).shape == [8, 3])
        #expect(throws: EngineError.self) { try t.reshaped([5, -1]) }
    }

    @Test func broadcastingAddAndItsReverse() throws {
        let a = Tensor(shape: [2, 3]) { Float($0) }
        let b = Tensor([10, 20, 30])
        let c = try a + b
        #expect(c.values == [10, 21, 32, 13, 24, 35])
        #expect(try c.sumToShape([3]).values == [23, 45, 67])
    }

    @Test func mismatchedShapesThrowNamingBoth() throws {
        let a = Tensor(zeros: [2, 3]), b = Tensor(zeros: [4])
        do { _ = try a + b; Issue.record("expected a throw") } catch let e as EngineError {
            #expect(e.description.contains("[2, 3]") && e.description.contains("[4]"))
        }
        do { _ = try Tensor.matmul(Tensor(zeros: [2, 3]), Tensor(zeros: [4, 5])); Issue.record("expected a throw") } catch let e as EngineError {
            #expect(e.description.contains("[2, 3]") && e.description.contains("[4, 5]"))
        }
    }

    @Test func matmulMatchesHandComputed() throws {
        let a = try Tensor(shape: [2, 2], values: [1, 2, 3, 4])
        let b = try Tensor(shape: [2, 2], values: [5, 6, 7, 8])
        #expect(try Tensor.matmul(a, b).values == [19, 22, 43, 50])
        #expect(try Tensor.matmul(a, b, transposeB: true).values == [17, 23, 39, 53])
    }
}
