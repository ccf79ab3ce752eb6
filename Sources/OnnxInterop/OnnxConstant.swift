// Dense tensors of an ONNX file (TensorProto): float32 weights, int64 shapes and axes. Every value is
// held as Double, which represents float32 and the int64 values used here exactly.
import Foundation
import OnnxFormat

struct OnnxConstant {
    var dims: [Int]
    var values: [Double]
    var isFloat: Bool

    var count: Int { values.count }

    init(dims: [Int], values: [Double], isFloat: Bool) {
        self.dims = dims
        self.values = values
        self.isFloat = isFloat
    }

    /// Reads `tensor`; `what` names it in errors ("initializer 'conv1.weight'").
    init(_ tensor: Onnx_TensorProto, what: String) throws {
        if tensor.dataLocation == .external || !tensor.externalData.isEmpty {
            throw OnnxError.model("\(what) is stored outside the .onnx file (external data); save the model with "
                                  + "its tensors inside (onnx.save_model(model, path, save_as_external_data=False))")
        }
        dims = tensor.dims.map { Int($0) }
        guard dims.allSatisfy({ $0 >= 0 }) else { throw OnnxError.model("\(what) has a negative dimension \(dims)") }
        var product = 1
        for d in dims {
            let (next, overflow) = product.multipliedReportingOverflow(by: d)
            guard !overflow, next <= 1 << 40 else { throw OnnxError.model("\(what) has dims \(dims): too large a tensor") }
            product = next
        }
        let expected = product, shape = dims
        let raw = tensor.rawData
        /// Little-endian words of raw_data (ONNX stores raw tensors little-endian), or the typed field.
        func words<Word: FixedWidthInteger>(_ type: Word.Type, _ label: String, typed: [Double], _ value: (Word) -> Double) throws -> [Double] {
            guard !raw.isEmpty else { return typed }
            let size = MemoryLayout<Word>.size
            guard raw.count == expected * size else {
                throw OnnxError.model("\(what) holds \(raw.count) bytes of \(label) data for dims \(shape) (\(expected * size) expected)")
            }
            return raw.withUnsafeBytes { bytes in
                (0..<expected).map { value(Word(littleEndian: bytes.loadUnaligned(fromByteOffset: $0 * size, as: Word.self))) }
            }
        }
        switch Int(tensor.dataType) {
        case Onnx_TensorProto.DataType.float.rawValue:
            isFloat = true
            values = try words(UInt32.self, "float32", typed: tensor.floatData.map(Double.init)) { Double(Float(bitPattern: $0)) }
        case Onnx_TensorProto.DataType.int64.rawValue:
            isFloat = false
            values = try words(Int64.self, "int64", typed: tensor.int64Data.map(Double.init)) { Double($0) }
        default:
            let name = Onnx_TensorProto.DataType(rawValue: Int(tensor.dataType)).map { "\($0)" } ?? "type \(tensor.dataType)"
            throw OnnxError.model("\(what) is \(name); Sibyl takes float32 weights (and int64 shapes): convert the model "
                                  + "to float32 before exporting it (model.float() in PyTorch)")
        }
        guard values.count == expected else {
            throw OnnxError.model("\(what) holds \(values.count) values for dims \(dims) (\(expected) expected)")
        }
        if isFloat, let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw OnnxError.model("\(what) holds a non-finite value (\(values[bad])) at index \(bad)")
        }
    }

    var floats: [Float] { values.map { Float($0) } }

    /// A float32 TensorProto named `name` (raw little-endian data).
    static func proto(name: String, dims: [Int], values: [Float]) -> Onnx_TensorProto {
        var tensor = Onnx_TensorProto()
        tensor.name = name
        tensor.dims = dims.map { Int64($0) }
        tensor.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        var data = Data(capacity: values.count * 4)
        for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        tensor.rawData = data
        return tensor
    }

    /// An int64 TensorProto (shapes and axes).
    static func proto(name: String, int64 values: [Int64]) -> Onnx_TensorProto {
        var tensor = Onnx_TensorProto()
        tensor.name = name
        tensor.dims = [Int64(values.count)]
        tensor.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
        tensor.int64Data = values
        return tensor
    }
}
