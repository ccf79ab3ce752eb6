/// Errors from garbled-circuit messages and inputs that come from outside (a peer or a caller).
public enum GarblingError: Error, Equatable, CustomStringConvertible {
    /// A buffer of labels, tables or values has the wrong length.
    case wrongCount(what: String, expected: Int, got: Int)
    /// A serialized garbled batch could not be parsed.
    case malformedBatch(String)
    /// A garbled batch was made for a different circuit (AND-gate or output count differ).
    case circuitMismatch(expectedAndGates: Int, gotAndGates: Int, expectedOutputs: Int, gotOutputs: Int)
    /// A circuit parameter is out of range.
    case invalidParameter(String)

    public var description: String {
        switch self {
        case .wrongCount(let what, let expected, let got):
            return "\(what): expected \(expected) entries, got \(got)"
        case .malformedBatch(let reason):
            return "malformed garbled batch: \(reason)"
        case .circuitMismatch(let ea, let ga, let eo, let go):
            return "garbled batch does not fit the circuit: \(ga) AND gates and \(go) outputs per copy, circuit has \(ea) and \(eo)"
        case .invalidParameter(let reason):
            return "invalid circuit parameter: \(reason)"
        }
    }
}
