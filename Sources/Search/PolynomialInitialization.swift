// Initial coefficients of a newly polynomial slot: Delphi's quadratic 0.2 + 0.5x + 0.2x^2 (Mishra et
// al., USENIX Security 2020), padded with zero higher terms for degrees above 2.

public enum PolynomialInitialization {
    /// Coefficients, lowest degree first, `degree + 1` of them.
    public static func coefficients(degree: Int) -> [Float] {
        precondition(degree >= 1, "polynomial degree must be at least 1")
        let delphi: [Float] = [0.2, 0.5, 0.2]
        if degree <= 2 { return Array(delphi.prefix(degree + 1)) }
        return delphi + Array(repeating: 0, count: degree - 2)
    }
}
