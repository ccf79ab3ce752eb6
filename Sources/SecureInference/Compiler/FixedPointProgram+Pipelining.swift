// The offline phase, pipelined. Each linear term costs the client an encryption (its request) and a
// decryption (the response), the server a homomorphic product in between; run strictly in turn, one party
// idles while the other works and every term pays a round trip. Where the client's input shares of the next
// terms are known before the current response arrives (whenever they come from the input or an
// activation, whose output shares the client draws afresh), it sends those requests first, the whole run of them, so its encryptions overlap the server's products, the server's products
// overlap the client's decryptions, and a run of terms pays one round trip instead of one each (on a
// 40 ms link, 60 round trips of ResNet-32's offline phase were 1.2 s).
//
// The server answers each request as it arrives, so responses flow down while later requests still flow
// up (full duplex). Between linear layers, garbled ReLUs, squares and polynomials exchange their own
// messages; the client sends those after the response of the term before them, so the server first reads
// the requests the client sent ahead (`endOfEarlyRun`), then runs the exchange. Both parties write
// before they read; over TCP that cannot deadlock at any buffer size, because a send that waits for room
// reads what the peer sent meanwhile (TCPChannel's drainWhileBlocked), and the in-memory channel's pipes
// are unbounded unless a test bounds them.
import NetworkCost

extension FixedPointProgram {
    /// Every linear term in program order: (step index, term index).
    public var linearTermOrder: [(step: Int, term: Int)] {
        steps.indices.flatMap { s -> [(step: Int, term: Int)] in
            guard case .linear(_, let terms, _, _) = steps[s] else { return [] }
            return terms.indices.map { (s, $0) }
        }
    }

    /// Per tensor: whether the client's offline share is fixed before any linear response arrives: the
    /// input's mask and the outputs of ReLUs, squares and polynomials (drawn afresh, whatever their own
    /// exchange), and what add, truncate, gather and scatter derive from those alone. Linear outputs, and
    /// everything derived from them, are not.
    public func responseFreeShares(reluProtocol: ReLUProtocol) -> [Bool] {
        var free = [Bool](repeating: false, count: tensors.count)
        free[Self.input] = true
        for step in steps {
            switch step {
            case .linear: free[step.output] = false
            case .relu, .square, .polynomial: free[step.output] = true   // drawn afresh
            case .add, .truncate, .gather, .scatter: free[step.output] = step.inputs.allSatisfy { free[$0] }
            }
        }
        return free
    }

    /// Per entry of `linearTermOrder`: whether the client sends that term's request before it reads the
    /// previous term's response; a run of early terms goes out together. Both parties compute this from the
    /// public program.
    public func earlyRequests(reluProtocol: ReLUProtocol) -> [Bool] {
        let order = linearTermOrder
        let free = responseFreeShares(reluProtocol: reluProtocol)
        return order.indices.map { i in
            guard i > 0, case .linear(_, let terms, _, _) = steps[order[i].step] else { return false }
            return free[terms[order[i].term].input]
        }
    }

    /// The last term of the run of early terms after term `t` (t itself when the next is not early): the
    /// client has sent every request up to it before it reads term t's response, so the server reads them
    /// all before any exchange of its own that follows term t (a ReLU's garbled tables, the OTs of squares
    /// and polynomials), whose messages the client sends after that response.
    public static func endOfEarlyRun(after t: Int, early: [Bool]) -> Int {
        var end = t
        while end + 1 < early.count && early[end + 1] { end += 1 }
        return end
    }
}
