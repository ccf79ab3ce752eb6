import ArgumentParser

@main
struct Sibyl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sibyl",
        abstract: "Private neural-network inference: train, plan, export, evaluate.")
}
