// Every builder circuit equals its plain-integer meaning on random inputs, in clear evaluation and after
// garbling and evaluation; AND counts are as documented.
import TwoParty
import XCTest

final class GarblingCircuitTests: XCTestCase {
    /// A two-word circuit: garbler holds a, evaluator holds b (n bits each), plus one garbler bit s.
    struct Case {
        let name: String
        let ands: (Int) -> Int
        let build: (CircuitBuilder, [Bit], [Bit], Bit) -> [Bit]
        let expect: (UInt64, UInt64, Bool, Int) -> UInt64
    }

    static func mask(_ n: Int) -> UInt64 { n == 64 ? ~0 : (1 << UInt64(n)) - 1 }
    static func signed(_ x: UInt64, _ n: Int) -> Int64 { Int64(bitPattern: x << UInt64(64 - n)) >> UInt64(64 - n) }
    static func bit(_ b: Bool) -> UInt64 { b ? 1 : 0 }

    let cases: [Case] = [
        Case(name: "add", ands: { $0 - 1 }, build: { b, x, y, _ in b.add(x, y) },
             expect: { x, y, _, n in (x &+ y) & mask(n) }),
        Case(name: "addWithCarry", ands: { $0 }, build: { b, x, y, s in let r = b.addWithCarry(x, y, carryIn: s); return r.sum + [r.carryOut] },
             expect: { x, y, s, n in ((x & mask(n)) + (y & mask(n)) + bit(s)) & mask(n + 1) }), // n < 64 here
        Case(name: "subtract", ands: { $0 - 1 }, build: { b, x, y, _ in b.subtract(x, y) },
             expect: { x, y, _, n in (x &- y) & mask(n) }),
        Case(name: "negate", ands: { $0 - 2 }, build: { b, x, _, _ in b.negate(x) },
             expect: { x, _, _, n in (0 &- x) & mask(n) }),
        Case(name: "unsignedLessThan", ands: { $0 }, build: { b, x, y, _ in [b.unsignedLessThan(x, y)] },
             expect: { x, y, _, _ in bit(x < y) }),
        Case(name: "unsignedGreaterThan", ands: { $0 }, build: { b, x, y, _ in [b.unsignedGreaterThan(x, y)] },
             expect: { x, y, _, _ in bit(x > y) }),
        Case(name: "unsignedLessThanOrEqual", ands: { $0 }, build: { b, x, y, _ in [b.unsignedLessThanOrEqual(x, y)] },
             expect: { x, y, _, _ in bit(x <= y) }),
        Case(name: "signedLessThan", ands: { $0 }, build: { b, x, y, _ in [b.signedLessThan(x, y)] },
             expect: { x, y, _, n in bit(signed(x, n) < signed(y, n)) }),
        Case(name: "signedGreaterThan", ands: { $0 }, build: { b, x, y, _ in [b.signedGreaterThan(x, y)] },
             expect: { x, y, _, n in bit(signed(x, n) > signed(y, n)) }),
        Case(name: "equal", ands: { $0 - 1 }, build: { b, x, y, _ in [b.equal(x, y)] },
             expect: { x, y, _, _ in bit(x == y) }),
        Case(name: "mux", ands: { $0 }, build: { b, x, y, s in b.mux(s, x, y) },
             expect: { x, y, s, _ in s ? x : y }),
        Case(name: "select", ands: { $0 }, build: { b, x, _, s in b.select(s, x) },
             expect: { x, _, s, _ in s ? x : 0 }),
        Case(name: "arithmeticShiftRight3", ands: { _ in 0 }, build: { b, x, _, _ in b.arithmeticShiftRight(x, by: 3) },
             expect: { x, _, _, n in UInt64(bitPattern: signed(x, n) >> 3) & mask(n) }),
        Case(name: "logicalShiftRight3", ands: { _ in 0 }, build: { b, x, _, _ in b.logicalShiftRight(x, by: 3) },
             expect: { x, _, _, n in (x >> 3) & mask(n) }),
        Case(name: "shiftLeft5", ands: { _ in 0 }, build: { b, x, _, _ in b.shiftLeft(x, by: 5) },
             expect: { x, _, _, n in (x << 5) & mask(n) }),
        Case(name: "addConstant", ands: { $0 - 2 }, build: { b, x, _, _ in b.add(x, b.constant(0x9E37_79B9_7F4A_7C15, bitCount: x.count)) },
             expect: { x, _, _, n in (x &+ 0x9E37_79B9_7F4A_7C15) & mask(n) }),
    ]

    func testBuilderCircuitsMatchIntegersInClearAndGarbled() throws {
        let seed = freshSeed()
        var rng = AESPRG(seed: seed)
        for n in [1, 2, 7, 32, 63, 64] {
            for t in cases {
                if t.name == "addWithCarry" && n == 64 { continue } // 65-bit result: covered in testAddWithCarry64
                if n < 4 && t.name.hasSuffix("3") || n < 6 && t.name.hasSuffix("5") { continue }
                let b = CircuitBuilder()
                let x = b.garblerInputs(n), s = b.garblerInput(), y = b.evaluatorInputs(n)
                let circuit = b.build(outputs: t.build(b, x, y, s))
                if n > 1 { XCTAssertEqual(circuit.andCount, t.ands(n), "\(t.name) n=\(n)") }
                let copies = 37
                var gIn: [Bool] = [], eIn: [Bool] = [], expected: [UInt64] = []
                for c in 0..<copies {
                    // Edge values first, then random ones.
                    let edges: [UInt64] = [0, 1, Self.mask(n), Self.mask(n) >> 1, (Self.mask(n) >> 1) &+ 1]
                    let xv = (c < edges.count ? edges[c] : rng.nextUInt64()) & Self.mask(n)
                    let yv = (c < edges.count ? edges[(c + 2) % edges.count] : (c % 7 == 0 ? xv : rng.nextUInt64())) & Self.mask(n)
                    let sv = rng.nextUInt64() & 1 == 1
                    gIn += bits(xv, n) + [sv]
                    eIn += bits(yv, n)
                    expected.append(t.expect(xv, yv, sv, n))
                }
                let outs = circuit.outputs.count
                for c in 0..<copies {
                    let clear = circuit.evaluate(garblerInputs: Array(gIn[(c * (n + 1))..<((c + 1) * (n + 1))]),
                                                 evaluatorInputs: Array(eIn[(c * n)..<((c + 1) * n)]))
                    XCTAssertEqual(word(clear[...]), expected[c], "\(t.name) n=\(n) copy \(c) seed \(seed)")
                }
                let garbled = try garbleAndEvaluate(circuit, garblerInputs: gIn, evaluatorInputs: eIn, copies: copies)
                for c in 0..<copies {
                    XCTAssertEqual(word(garbled[(c * outs)..<((c + 1) * outs)]), expected[c], "garbled \(t.name) n=\(n) copy \(c) seed \(seed)")
                }
            }
        }
    }

    func testAddWithCarry64() {
        let seed = freshSeed()
        var rng = AESPRG(seed: seed)
        let b = CircuitBuilder()
        let x = b.garblerInputs(64), y = b.evaluatorInputs(64), s = b.garblerInput()
        let r = b.addWithCarry(x, y, carryIn: s)
        let circuit = b.build(outputs: r.sum + [r.carryOut])
        XCTAssertEqual(circuit.andCount, 64)
        for trial in 0..<50 {
            let xv = trial == 0 ? ~0 : rng.nextUInt64(), yv = trial == 0 ? 0 : rng.nextUInt64(), sv = trial == 0 || rng.nextUInt64() & 1 == 1
            let out = circuit.evaluate(garblerInputs: bits(xv, 64) + [sv], evaluatorInputs: bits(yv, 64))
            let (s1, o1) = xv.addingReportingOverflow(yv)
            let (s2, o2) = s1.addingReportingOverflow(sv ? 1 : 0)
            XCTAssertEqual(word(out[0..<64]), s2, "seed \(seed)")
            XCTAssertEqual(out[64], o1 || o2, "seed \(seed)")
        }
    }

    func testConstantFoldingAndConstantOutputs() throws {
        let b = CircuitBuilder()
        let x = b.garblerInput(), y = b.evaluatorInput()
        XCTAssertEqual(b.and(x, .zero), .zero)
        XCTAssertEqual(b.and(x, .one), x)
        XCTAssertEqual(b.xor(x, x), .zero)
        XCTAssertEqual(b.not(b.not(y)), y)
        let outputs = [b.xor(x, .one), Bit.one, b.and(x, y), Bit.zero, b.or(x, y)]
        let circuit = b.build(outputs: outputs)
        XCTAssertEqual(circuit.andCount, 2)
        XCTAssertEqual(circuit.outputWireCount, 3)
        for (xv, yv) in [(false, false), (false, true), (true, false), (true, true)] {
            let expected = [!xv, true, xv && yv, false, xv || yv]
            XCTAssertEqual(circuit.evaluate(garblerInputs: [xv], evaluatorInputs: [yv]), expected)
            XCTAssertEqual(try garbleAndEvaluate(circuit, garblerInputs: [xv], evaluatorInputs: [yv], copies: 1), expected)
        }
    }

    /// Dead gates are dropped and the garbler's inputs come first whatever the declaration order.
    func testBuildNumbersInputsAndDropsDeadGates() {
        let b = CircuitBuilder()
        let e = b.evaluatorInput(), g = b.garblerInput()
        _ = b.and(e, g) // unused
        let circuit = b.build(outputs: [b.xor(e, g)])
        XCTAssertEqual(circuit.andCount, 0)
        XCTAssertEqual(circuit.gates.count, 1)
        XCTAssertEqual(circuit.evaluate(garblerInputs: [true], evaluatorInputs: [false]), [true])
    }
}
