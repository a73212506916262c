// Half-precision tensors kept in the map (`Checkpoint.load(_:keepHalf:)`): rows converted on
// demand must equal the whole-tensor conversion and the writer's rounding, for BF16 and F16.
import Foundation
import Testing
import Engine
@testable import Formats

@Suite struct HalfTensorTests {
    @Test(arguments: [DType.bf16, .f16])
    func rowsEqualTheWholeConversion(_ dtype: DType) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("half-\(getpid())-\(dtype.rawValue)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let values: [Float] = (0..<(7 * 5)).map { Float($0) * 0.37 - 6.1 + ($0 % 3 == 0 ? 1e-3 : 0) }
        let t = try Tensor(shape: [7, 5], values: values)
        let path = dir.appendingPathComponent("w.safetensors").path
        // An odd-sized first tensor puts the second at an offset that is not 4-byte aligned.
        _ = try SafeTensors.write([(name: "a", tensor: try Tensor(shape: [3], values: [1, 2, 3])), (name: "w", tensor: t)], to: path, dtype: dtype)
        let ws = try Checkpoint.load(path, keepHalf: true)
        let h = try #require(ws.half["w"])
        #expect(h.dtype == dtype && h.shape == [7, 5] && ws.names.contains("w") && ws["w"] == nil)
        let whole = h.float32().values
        let rounded = values.map { dtype == .bf16 ? bfloat16ToFloat(floatToBFloat16($0)) : halfToFloat(floatToHalf($0)) }
        #expect(whole == rounded)
        for r in [0..<7, 2..<3, 4..<7] {
            #expect(h.float32(rows: r) == Array(whole[(r.lowerBound * 5)..<(r.upperBound * 5)]))
        }
        var converted = ws
        converted.convertHalf()
        #expect(converted.half.isEmpty && converted["w"]?.values == whole)
    }
}
