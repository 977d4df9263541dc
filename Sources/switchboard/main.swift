import ArgumentParser
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

// With `SWITCHBOARD_NIO_EXECUTOR=1`, Swift Concurrency's jobs run on NIO's event-loop threads,
// so a handler, its upstream call and both sockets can stay on one thread. It must happen
// before any async code runs. Off by default: measured here (bench/NOTES.md) it saved little CPU
// per request and made streams' tail latency worse.
if getenv("SWITCHBOARD_NIO_EXECUTOR").map({ String(cString: $0) }) == "1" {
    NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
}

// What `@main` on an `AsyncParsableCommand` does, spelled out so the line above runs first.
do {
    var command = try await SwitchboardCommand.asyncParseAsRoot()
    if var entry = command as? any AsyncEntry {
        try await entry.start()
    } else {
        try command.run()
    }
} catch {
    SwitchboardCommand.exit(withError: error)
}
