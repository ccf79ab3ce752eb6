import XCTest
import Lattice
import TwoParty
import Transport
import Foundation

final class TmpPolyProfile: XCTestCase {
    func testProfile() throws {
        guard ProcessInfo.processInfo.environment["TMP_PROFILE"] == "1" else { throw XCTSkip("") }
        let n = 16384, degree = 4, plane = 1024
        var g = SystemRandomNumberGenerator()
        let a = (0..<16).map { _ in (0...degree).map { k in UInt128(bitPattern: Int128(Int64(g.next() % 1000)) << (84 - 15 * k)) } }
        let x = (0..<n).map { _ in g.next() }
        let (s, c) = try runTwoParties(.inMemory,
            first: { ch -> (Double, Double) in
                let ole = try PrimeOLEServer(context: .standard, setupMessage: try ch.receiveMessage(expecting: 0x7777))
                let state = try OneRoundPolynomial.serverOffline(count: n, degree: degree, ole: ole, channel: ch)
                var best = 1e9
                var msg: [UInt8] = []
                for _ in 0..<10 { let t0 = Date(); msg = OneRoundPolynomial.maskedValues(state, shares: x, coefficients: a, plane: plane, shift: 71).message; best = min(best, Date().timeIntervalSince(t0)) }
                try ch.sendMessage(type: 0x7778, msg); try ch.flush()
                return (best, 0)
            },
            second: { ch -> (Double, Double) in
                let ole = PrimeOLEClient(context: .standard)
                try ch.sendMessage(type: 0x7777, try ole.setupMessage()); try ch.flush()
                let state = try OneRoundPolynomial.clientOffline(shares: x, degree: degree, ole: ole, channel: ch)
                let masked = try ch.receiveMessage(expecting: 0x7778)
                var best = 1e9, best2 = 1e9
                for _ in 0..<10 {
                    let t0 = Date(); let tau = try OneRoundPolynomial.clientResidues(state, masked: masked); best = min(best, Date().timeIntervalSince(t0))
                    let t1 = Date(); _ = OneRoundPolynomial.residues.shiftedShares(tau, count: n, shift: 71, server: false, adding: x); best2 = min(best2, Date().timeIntervalSince(t1))
                }
                return (best, best2)
            })
        print("server send ms", s.0 * 1e3, "client residues ms", c.0 * 1e3, "shifted ms", c.1 * 1e3)
    }
}
