import ArgumentParser

@main
struct Sibyl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sibyl",
        abstract: "Private neural-network inference: train, plan, export, evaluate.",
        discussion: """
            The jobs, in order:
              sibyl train     train an all-ReLU CNN on CIFAR-100 (checkpoints in HDF5)
              sibyl test      measure a checkpoint's accuracy on a split
              sibyl bench     measure training or cryptographic throughput
            Run `sibyl help <command>` for a command's options.
            """,
        subcommands: [TrainCommand.self, TestCommand.self, BenchCommand.self])
}

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure throughput (results as JSON with --json).",
        subcommands: [BenchTrainCommand.self])
}
