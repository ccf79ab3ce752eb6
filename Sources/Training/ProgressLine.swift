// The live progress line on stderr: rewritten in place on a terminal, one line per ~10% otherwise.
import Foundation

public final class ProgressLine {
    private let isTerminal: Bool
    private var lastDecile = -1
    private var lastDraw = Date.distantPast

    public init() { isTerminal = isatty(2) != 0 }

    public static func write(_ s: String) { FileHandle.standardError.write(Data(s.utf8)) }

    /// fraction in [0, 1] of the current epoch.
    public func update(epoch: Int, epochs: Int, fraction: Double, imagesPerSecond: Double, loss: Double,
                       accuracy: Double, etaSeconds: Double) {
        let text = String(format: "epoch %d/%d %5.1f%% | %6.1f img/s | loss %.4f | acc %.4f | ETA %@",
                          epoch, epochs, fraction * 100, imagesPerSecond, loss, accuracy, Self.duration(etaSeconds))
        if isTerminal {
            let now = Date()
            guard now.timeIntervalSince(lastDraw) > 0.2 || fraction >= 1 else { return }
            lastDraw = now
            Self.write("\r\u{1B}[K" + text)
        } else {
            let decile = Int(fraction * 10)
            guard decile > lastDecile else { return }
            lastDecile = decile
            Self.write(text + "\n")
        }
    }

    /// Ends the epoch's line with a summary.
    public func finish(_ summary: String) {
        if isTerminal { Self.write("\r\u{1B}[K") }
        Self.write(summary + "\n")
        lastDecile = -1
    }

    public static func duration(_ s: Double) -> String {
        guard s.isFinite, s >= 0 else { return "--" }
        let t = Int(s)
        return t >= 3600 ? String(format: "%dh%02dm", t / 3600, (t % 3600) / 60) : String(format: "%dm%02ds", t / 60, t % 60)
    }
}
