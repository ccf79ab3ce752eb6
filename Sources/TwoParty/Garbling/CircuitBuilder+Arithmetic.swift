// Word-level circuits on little-endian bit vectors (index 0 = least significant bit), built from the
// one-AND full adder: carry' = c ⊕ ((a ⊕ c) ∧ (b ⊕ c)), sum = a ⊕ b ⊕ c (as in Kolesnikov, Sadeghi,
// Schneider, "Improved garbled circuit building blocks", CANS 2009). Shifts and extensions are rewiring.

extension CircuitBuilder {
    /// The public constant `value` as `bitCount` bits (no wires: constants fold into the gates using them).
    public func constant(_ value: UInt64, bitCount: Int) -> [Bit] {
        precondition(bitCount >= 0 && bitCount <= 64)
        return (0..<bitCount).map { i in .constant((value >> UInt64(i)) & 1 == 1) }
    }

    public func not(_ a: [Bit]) -> [Bit] { a.map { not($0) } }

    public func xor(_ a: [Bit], _ b: [Bit]) -> [Bit] {
        precondition(a.count == b.count, "words must have equal widths (\(a.count) vs \(b.count))")
        return zip(a, b).map { xor($0, $1) }
    }

    /// One carry step of the ripple adder (1 AND).
    func carry(_ a: Bit, _ b: Bit, _ c: Bit) -> Bit { xor(c, and(xor(a, c), xor(b, c))) }

    /// a + b + carryIn over n = a.count bits, with the carry out of the top bit (n AND gates).
    public func addWithCarry(_ a: [Bit], _ b: [Bit], carryIn: Bit = .zero) -> (sum: [Bit], carryOut: Bit) {
        ripple(a, b, carryIn: carryIn, topCarry: true)
    }

    /// a + b + carryIn mod 2^n (n - 1 AND gates with no carry in: the top carry is never computed).
    public func add(_ a: [Bit], _ b: [Bit], carryIn: Bit = .zero) -> [Bit] {
        ripple(a, b, carryIn: carryIn, topCarry: false).sum
    }

    /// The ripple-carry adder both additions are; without `topCarry` the last carry (one AND) is not built
    /// and `carryOut` is the carry into the top bit.
    private func ripple(_ a: [Bit], _ b: [Bit], carryIn: Bit, topCarry: Bool) -> (sum: [Bit], carryOut: Bit) {
        precondition(a.count == b.count, "words must have equal widths (\(a.count) vs \(b.count))")
        var c = carryIn
        var sum: [Bit] = []
        sum.reserveCapacity(a.count)
        for i in 0..<a.count {
            sum.append(xor(xor(a[i], b[i]), c))
            if topCarry || i + 1 < a.count { c = carry(a[i], b[i], c) }
        }
        return (sum, c)
    }

    /// a - b mod 2^n = a + ¬b + 1.
    public func subtract(_ a: [Bit], _ b: [Bit]) -> [Bit] { add(a, not(b), carryIn: .one) }

    /// -a mod 2^n.
    public func negate(_ a: [Bit]) -> [Bit] { add(not(a), constant(0, bitCount: a.count), carryIn: .one) }

    /// Unsigned a ≥ b: the carry out of a + ¬b + 1 (n AND gates, carries only).
    public func unsignedGreaterThanOrEqual(_ a: [Bit], _ b: [Bit]) -> Bit {
        precondition(a.count == b.count, "words must have equal widths (\(a.count) vs \(b.count))")
        var c = Bit.one
        for i in 0..<a.count { c = carry(a[i], not(b[i]), c) }
        return c
    }

    public func unsignedLessThan(_ a: [Bit], _ b: [Bit]) -> Bit { not(unsignedGreaterThanOrEqual(a, b)) }
    public func unsignedGreaterThan(_ a: [Bit], _ b: [Bit]) -> Bit { unsignedLessThan(b, a) }
    public func unsignedLessThanOrEqual(_ a: [Bit], _ b: [Bit]) -> Bit { unsignedGreaterThanOrEqual(b, a) }

    /// Two's-complement a < b: flipping both sign bits maps signed order onto unsigned order (free).
    public func signedLessThan(_ a: [Bit], _ b: [Bit]) -> Bit {
        precondition(!a.isEmpty && a.count == b.count)
        var a2 = a, b2 = b
        a2[a.count - 1] = not(a[a.count - 1])
        b2[b.count - 1] = not(b[b.count - 1])
        return unsignedLessThan(a2, b2)
    }

    public func signedGreaterThan(_ a: [Bit], _ b: [Bit]) -> Bit { signedLessThan(b, a) }

    /// a == b (n - 1 AND gates).
    public func equal(_ a: [Bit], _ b: [Bit]) -> Bit {
        precondition(a.count == b.count, "words must have equal widths (\(a.count) vs \(b.count))")
        return zip(a, b).map { xnor($0, $1) }.reduce(Bit.one) { and($0, $1) }
    }

    /// condition ? ifTrue : ifFalse, bitwise (n AND gates).
    public func mux(_ condition: Bit, _ ifTrue: [Bit], _ ifFalse: [Bit]) -> [Bit] {
        precondition(ifTrue.count == ifFalse.count, "words must have equal widths")
        return zip(ifTrue, ifFalse).map { mux(condition, $0, $1) }
    }

    /// Each bit ANDed with `bit` (n AND gates): `bit ? a : 0`.
    public func select(_ bit: Bit, _ a: [Bit]) -> [Bit] { a.map { and(bit, $0) } }

    /// Arithmetic (sign-filling) shift right by `count`, width kept: rewiring only.
    public func arithmeticShiftRight(_ a: [Bit], by count: Int) -> [Bit] {
        precondition(count >= 0 && !a.isEmpty)
        return (0..<a.count).map { i in i + count < a.count ? a[i + count] : a[a.count - 1] }
    }

    /// Logical shift right by `count`, width kept: rewiring only.
    public func logicalShiftRight(_ a: [Bit], by count: Int) -> [Bit] {
        precondition(count >= 0)
        return (0..<a.count).map { i in i + count < a.count ? a[i + count] : .zero }
    }

    /// Shift left by `count`, width kept: rewiring only.
    public func shiftLeft(_ a: [Bit], by count: Int) -> [Bit] {
        precondition(count >= 0)
        return (0..<a.count).map { i in i >= count ? a[i - count] : .zero }
    }

    public func signExtend(_ a: [Bit], to width: Int) -> [Bit] {
        precondition(!a.isEmpty && width >= a.count)
        return a + [Bit](repeating: a[a.count - 1], count: width - a.count)
    }

    public func zeroExtend(_ a: [Bit], to width: Int) -> [Bit] {
        precondition(width >= a.count)
        return a + [Bit](repeating: .zero, count: width - a.count)
    }
}
