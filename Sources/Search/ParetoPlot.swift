// pareto.svg: validation accuracy against predicted online latency (left) and ReLU count (right).
// Grey dots: every member report; red steps: the Pareto front; a ring: the chosen plan.
// Plain SVG 1.1 written by hand, readable in any browser.
import Foundation
import Planner

public enum ParetoPlot {
    struct Panel {
        var x: Double, y: Double, width: Double, height: Double
        var xRange: ClosedRange<Double>, yRange: ClosedRange<Double>

        func px(_ v: Double) -> Double {
            let span = xRange.upperBound - xRange.lowerBound
            return x + (span > 0 ? (v - xRange.lowerBound) / span : 0.5) * width
        }

        func py(_ v: Double) -> Double {
            let span = yRange.upperBound - yRange.lowerBound
            return y + height - (span > 0 ? (v - yRange.lowerBound) / span : 0.5) * height
        }
    }

    /// One point drawn on the front (or the chosen ring), with its hover text.
    struct Mark {
        var accuracy: Double
        var seconds: Double
        var relus: Int
        var label: String
    }

    /// The plot of one search: its reports, its front and the chosen point.
    public static func svg(front: ParetoFront, reports: [ReportedPoint], chosen: ParetoPoint?, title: String,
                           latency: String = "online") -> String {
        func mark(_ p: ParetoPoint, _ label: String) -> Mark {
            Mark(accuracy: p.validationAccuracy, seconds: p.predictedOnlineSeconds, relus: p.relus, label: label)
        }
        let marks = front.points.map {
            mark($0, String(format: "front: member %d round %d, %.4f, %d ReLUs, %.4g s", $0.member, $0.round,
                            $0.validationAccuracy, $0.relus, $0.predictedOnlineSeconds))
        }
        let legend = "grey: every member report; red: Pareto front; blue ring: chosen plan"
            + (chosen.map { String(format: " (validation accuracy %.4f, %d ReLUs, %.4g s)", $0.validationAccuracy,
                                   $0.relus, $0.predictedOnlineSeconds) } ?? " (none meets the target)")
        return svg(marks: marks, reports: reports, chosen: chosen.map { mark($0, "chosen") }, title: title,
                   legend: legend, latency: latency)
    }

    /// The plot of several searches on one front (`sibyl front`).
    public static func svg(front: CombinedFront, reports: [ReportedPoint], title: String) -> String {
        let latency = front.query.map { $0.phase == .online ? "online" : "total" } ?? "online"
        let marks = front.points.map { p in
            Mark(accuracy: p.validationAccuracy, seconds: p.predictedOnlineSeconds, relus: p.relus,
                 label: String(format: "%@%@: %.4f, %d ReLUs, %.4g s", p.source,
                               p.member.map { " member \($0) round \(p.round ?? 0)" } ?? "", p.validationAccuracy,
                               p.relus, p.predictedOnlineSeconds))
        }
        return svg(marks: marks, reports: reports, chosen: nil, title: title,
                   legend: "grey: every member report of every search; red: the combined Pareto front", latency: latency)
    }

    /// `latency`: the phase the predicted seconds cover (online, total).
    static func svg(marks: [Mark], reports: [ReportedPoint], chosen: Mark?, title: String, legend: String,
                    latency: String) -> String {
        let healthy = reports.filter { !$0.diverged }
        let accuracies = healthy.map(\.validationAccuracy) + marks.map(\.accuracy)
        let lowAcc = max(0, (accuracies.min() ?? 0) - 0.02), highAcc = min(1, (accuracies.max() ?? 1) + 0.02)
        let yRange = lowAcc...max(highAcc, lowAcc + 0.01)
        let seconds = healthy.map(\.predictedOnlineSeconds) + marks.map(\.seconds)
        let relus = (healthy.map(\.relus) + marks.map(\.relus)).map(Double.init)
        func padded(_ values: [Double]) -> ClosedRange<Double> {
            let low = values.min() ?? 0, high = values.max() ?? 1
            let pad = max((high - low) * 0.05, abs(high) * 0.01, 1e-9)
            return (low - pad)...(high + pad)
        }
        let width = 960.0, height = 440.0
        let left = Panel(x: 70, y: 50, width: 380, height: 320, xRange: padded(seconds), yRange: yRange)
        let right = Panel(x: 550, y: 50, width: 380, height: 320, xRange: padded(relus), yRange: yRange)
        var out = """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(Int(width / 2))" y="24" text-anchor="middle" font-size="15">\(escape(title)): \(healthy.count) reports, \(marks.count) on the front</text>

        """
        let panels: [(Panel, String, (Double) -> String, (ReportedPoint) -> Double, (Mark) -> Double)] = [
            (left, "predicted \(latency) latency (s)", { String(format: "%.3g", $0) }, { $0.predictedOnlineSeconds },
             { $0.seconds }),
            (right, "ReLUs per image", { formatCount($0) }, { Double($0.relus) }, { Double($0.relus) }),
        ]
        for (panel, label, format, reportX, markX) in panels {
            out += axes(panel, xLabel: label, format: format)
            for report in healthy {
                out += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#999\" fill-opacity=\"0.6\"><title>member %d round %d: %.4f</title></circle>\n",
                              panel.px(reportX(report)), panel.py(report.validationAccuracy), report.member, report.round,
                              report.validationAccuracy)
            }
            // The front as a step line: best accuracy reachable at or below each cost.
            let sorted = marks.sorted { markX($0) < markX($1) }
            var best = -Double.infinity
            var path = ""
            for mark in sorted where mark.accuracy > best {
                let x = panel.px(markX(mark)), y = panel.py(mark.accuracy)
                if path.isEmpty { path = String(format: "M%.1f %.1f", x, y) }
                else { path += String(format: " H%.1f V%.1f", x, y) }
                best = mark.accuracy
            }
            if !path.isEmpty {
                path += String(format: " H%.1f", panel.x + panel.width)
                out += "<path d=\"\(path)\" fill=\"none\" stroke=\"#c0392b\" stroke-width=\"2\"/>\n"
            }
            for mark in sorted {
                out += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#c0392b\"><title>%@</title></circle>\n",
                              panel.px(markX(mark)), panel.py(mark.accuracy), escape(mark.label))
            }
            if let chosen {
                out += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"8\" fill=\"none\" stroke=\"#1f6fb2\" stroke-width=\"2.5\"><title>%@</title></circle>\n",
                              panel.px(markX(chosen)), panel.py(chosen.accuracy), escape(chosen.label))
            }
        }
        out += "<text x=\"70\" y=\"425\" fill=\"#555\">\(escape(legend))</text>\n"
        out += "</svg>\n"
        return out
    }

    static func axes(_ p: Panel, xLabel: String, format: (Double) -> String) -> String {
        var out = String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#333\"/>\n",
                         p.x, p.y, p.width, p.height)
        for i in 0...4 {
            let fx = p.xRange.lowerBound + Double(i) / 4 * (p.xRange.upperBound - p.xRange.lowerBound)
            let fy = p.yRange.lowerBound + Double(i) / 4 * (p.yRange.upperBound - p.yRange.lowerBound)
            out += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n",
                          p.px(fx), p.y, p.px(fx), p.y + p.height)
            out += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n",
                          p.x, p.py(fy), p.x + p.width, p.py(fy))
            out += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%@</text>\n",
                          p.px(fx), p.y + p.height + 16, escape(format(fx)))
            out += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.3f</text>\n", p.x - 6, p.py(fy) + 4, fy)
        }
        out += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%@</text>\n",
                      p.x + p.width / 2, p.y + p.height + 36, escape(xLabel))
        out += String(format: "<text transform=\"translate(%.1f %.1f) rotate(-90)\" text-anchor=\"middle\">validation accuracy</text>\n",
                      p.x - 48, p.y + p.height / 2)
        return out
    }

    static func formatCount(_ v: Double) -> String {
        abs(v) >= 1e6 ? String(format: "%.2fM", v / 1e6) : abs(v) >= 1e3 ? String(format: "%.0fk", v / 1e3) : String(format: "%.0f", v)
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}
