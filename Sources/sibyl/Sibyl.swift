import ArgumentParser
import CKernels
import Tensors

@main
struct Sibyl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sibyl",
        abstract: "Private neural-network inference: train, plan, export, evaluate.",
        discussion: """
            The jobs, in order:
              sibyl train      train an all-ReLU CNN on CIFAR-100 (checkpoints in HDF5)
              sibyl plan       search hybrid ReLU/polynomial placements toward a latency or ReLU target
              sibyl export     write a checkpoint (and placement) as a plan: plan.json + weights.h5 (or --onnx)
              sibyl evaluate   run a plan under the secure protocol (both parties, TCP loopback)
              sibyl serve      serve a plan to clients (model owner)
              sibyl query      classify an image with a server (client)
            and the tools around them:
              sibyl import     bring in a network trained elsewhere, from ONNX, as a checkpoint
              sibyl front      combine several plan runs and the baseline into one Pareto front
              sibyl test       accuracy of a checkpoint or a plan on a split
              sibyl inspect    summarise a plan
              sibyl calibrate  write the planner's latency cost model
              sibyl bench      measure training or cryptographic throughput, or fuzz the decoders
            Run `sibyl help <command>` for a command's options.
            """,
        subcommands: [TrainCommand.self, ImportCommand.self, PlanCommand.self, FrontCommand.self, ExportCommand.self, EvaluateCommand.self,
                      ServeCommand.self, QueryCommand.self, TestCommand.self, InspectCommand.self,
                      CalibrateCommand.self, BenchCommand.self, PlanWorkerCommand.self])

    static func main() {
        ckernels_keep_freed_memory()   // freed protocol buffers reused, not re-faulted (ckernels.h)
        BLASInfo.fitCoreToCPU()        // OpenBLAS's kernels for this CPU's class, before any BLAS call
        main(nil)
    }
}

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure throughput (results as JSON with --json).",
        subcommands: [BenchTrainCommand.self, BenchCryptoCommand.self, BenchFuzzCommand.self])
}
