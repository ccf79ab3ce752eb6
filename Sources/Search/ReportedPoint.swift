// Every member report of a search log, as points for the plot.
import Foundation
import Planner

public struct ReportedPoint: Codable, Hashable, Sendable {
    public var member: Int
    public var round: Int
    public var validationAccuracy: Double
    public var predictedOnlineSeconds: Double
    public var relus: Int
    public var diverged: Bool

    /// The reports of a search.jsonl, in log order (a torn last line is ignored).
    public static func all(in log: URL) throws -> [ReportedPoint] {
        let text = try String(contentsOf: log, encoding: .utf8)
        let decoder = JSONDecoder()
        var points: [ReportedPoint] = []
        for line in text.split(separator: "\n") {
            guard let event = try? decoder.decode(SearchEvent.self, from: Data(line.utf8)), event.kind == .report,
                  let result = event.result, let relus = event.relus, let seconds = event.predictedOnlineSeconds
            else { continue }
            points.append(ReportedPoint(member: result.member, round: result.round,
                                        validationAccuracy: result.validationAccuracy,
                                        predictedOnlineSeconds: seconds, relus: relus, diverged: result.diverged))
        }
        return points
    }
}
