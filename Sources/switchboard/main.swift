import ArgumentParser
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

// `SWITCHBOARD_EVENT_LOOPS=N`: the number of NIO event-loop threads (default: one per core).
// The server, the upstream client, PostgreSQL and (below) Swift Concurrency all share them.
if let value = getenv("SWITCHBOARD_EVENT_LOOPS").flatMap({ Int(String(cString: $0)) }), value > 0 {
    NIOSingletons.groupLoopCountSuggestion = value
}

// Swift Concurrency's jobs run on NIO's event-loop threads, so a handler, its upstream call
// and both sockets share threads instead of hopping between NIO's loops and a separate pool
// (bench/NOTES.md: ~15-20% less CPU per request). It must happen before any async code runs.
// `SWITCHBOARD_NIO_EXECUTOR=0` keeps the default global executor.
if getenv("SWITCHBOARD_NIO_EXECUTOR").map({ String(cString: $0) }) != "0" {
    NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
}

// What `@main` on an `AsyncParsableCommand` does, spelled out so the line above runs first.
// Every async subcommand goes through `runAsync`, so a new one needs no registration here.
do {
    var command = try SwitchboardCommand.parseAsRoot()
    if var asyncCommand = command as? any AsyncParsableCommand {
        try await runAsync(&asyncCommand)
    } else {
        try command.run()
    }
} catch {
    SwitchboardCommand.exit(withError: error)
}

/// Runs an async command's `run()`: opening the existential as a concrete type lets the
/// compiler choose the `async` requirement (through `any`, it picks the synchronous one).
func runAsync<Command: AsyncParsableCommand>(_ command: inout Command) async throws {
    try await command.run()
}
