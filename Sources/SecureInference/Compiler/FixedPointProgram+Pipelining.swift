// The offline phase, pipelined. Each linear term costs the client an encryption (its request) and a
// decryption (the response), the server a homomorphic product in between; run strictly in turn, one party
// idles while the other works and every term pays a round trip. Where the client's input shares of the next
// terms are known before the current response arrives (after OT ReLUs: always), it sends those requests
// first, the whole run of them, so its encryptions overlap the server's products, the server's products
// overlap the client's decryptions, and a run of terms pays one round trip instead of one each (on a
// 40 ms link, 60 round trips of ResNet-32's offline phase were 1.2 s).
//
// The server answers each request as it arrives, so responses flow down while later requests still flow
// up (full duplex). Both parties then write before they read; over TCP that cannot deadlock at any buffer
// size, because a send that waits for room reads what the peer sent meanwhile (TCPChannel's
// drainWhileBlocked), and the in-memory channel's pipes are unbounded unless a test bounds them.
import NetworkCost

extension FixedPointProgram {
    /// Every linear term in program order: (step index, term index).
    public var linearTermOrder: [(step: Int, term: Int)] {
        steps.indices.flatMap { s -> [(step: Int, term: Int)] in
            guard case .linear(_, let terms, _, _) = steps[s] else { return [] }
            return terms.indices.map { (s, $0) }
        }
    }

    /// Whether the offline phase exchanges nothing but the linear terms' requests and responses: ReLUs by OT
    /// (all online) and no squares or polynomials (their correlations are exchanged between linear layers).
    public func offlineIsLinearOnly(reluProtocol: ReLUProtocol) -> Bool {
        steps.allSatisfy { step in
            switch step {
            case .relu: return reluProtocol == .ot
            case .square, .polynomial: return false
            default: return true
            }
        }
    }

    /// Per tensor: whether the client's offline share is fixed before any linear response arrives: the
    /// input's mask and OT ReLU outputs (drawn afresh), and what add, truncate, gather and scatter derive from
    /// those alone. Linear outputs, and everything derived from them, are not.
    public func responseFreeShares(reluProtocol: ReLUProtocol) -> [Bool] {
        var free = [Bool](repeating: false, count: tensors.count)
        free[Self.input] = true
        for step in steps {
            switch step {
            case .linear: free[step.output] = false
            case .relu: free[step.output] = reluProtocol == .ot
            case .square, .polynomial: free[step.output] = true   // drawn afresh, after their own exchange
            case .add, .truncate, .gather, .scatter: free[step.output] = step.inputs.allSatisfy { free[$0] }
            }
        }
        return free
    }

    /// Per entry of `linearTermOrder`: whether the client sends that term's request before it reads the
    /// previous term's response; a run of early terms goes out together. Both parties
    /// compute this from the public program; false everywhere unless the offline phase is linear only.
    public func earlyRequests(reluProtocol: ReLUProtocol) -> [Bool] {
        let order = linearTermOrder
        guard offlineIsLinearOnly(reluProtocol: reluProtocol) else { return [Bool](repeating: false, count: order.count) }
        let free = responseFreeShares(reluProtocol: reluProtocol)
        return order.indices.map { i in
            guard i > 0, case .linear(_, let terms, _, _) = steps[order[i].step] else { return false }
            return free[terms[order[i].term].input]
        }
    }
}
