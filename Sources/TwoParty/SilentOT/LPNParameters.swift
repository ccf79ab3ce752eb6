// Parameters of the primal LPN problem with regular noise behind silent correlated OT (Ferret: Yang,
// Weng, Lan, Zhang, Wang, "Ferret: Fast Extension for coRRElated oT with small communication", CCS 2020,
// ePrint 2020/924; the parameter sets of Weng, Yang, Katz, Wang, "Wolverine", IEEE S&P 2021, ePrint
// 2020/925, Table 2, which Ferret uses): n outputs from k secret COTs and an error vector of weight t with
// one nonzero per block of 2^depth positions; each output is the XOR of d = 10 secret positions (a local
// linear code). Both sets give 128-bit computational security against the known attacks (Gaussian
// elimination, low-weight parity check, information-set decoding) as analysed in those papers.
public struct LPNParameters: Sendable, Equatable, CustomStringConvertible {
    /// Rows of the code: the COTs of the LPN secret an iteration consumes.
    public let k: Int
    /// Noise weight: one GGM tree (single-point COT) per block.
    public let t: Int
    /// log2 of the block size: GGM tree depth.
    public let depth: Int
    /// Nonzeros per column of the code.
    public let d: Int

    public init(k: Int, t: Int, depth: Int, d: Int = 10) {
        precondition(k > 0 && t > 0 && (1...20).contains(depth) && d > 0, "invalid LPN parameters")
        self.k = k
        self.t = t
        self.depth = depth
        self.d = d
    }

    /// Outputs of one iteration.
    public var n: Int { t << depth }
    /// COTs one iteration consumes: k for the secret, one per tree level for the single-point COTs.
    public var consumed: Int { k + t * depth }

    /// Wolverine/Ferret's setup set: n = 642,048 (2,508 blocks of 2^8), k = 19,870.
    public static let setup = LPNParameters(k: 19_870, t: 2_508, depth: 8)
    /// Wolverine/Ferret's extension set: n = 10,805,248 (1,319 blocks of 2^13), k = 589,760.
    public static let extension_ = LPNParameters(k: 589_760, t: 1_319, depth: 13)

    /// INSECURE (toy sizes): for tests of the protocol's logic only.
    public static func insecureForTests(k: Int, t: Int, depth: Int) -> LPNParameters { LPNParameters(k: k, t: t, depth: depth) }

    public var description: String { "LPN(n=\(n), k=\(k), t=\(t), d=\(d))" }
}
