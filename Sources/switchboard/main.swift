import ArgumentParser
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

// Swift Concurrency's jobs run on NIO's event-loop threads, so a request's handler, the upstream
// call and both sockets stay on one thread instead of hopping between two pools (the largest
// cost per request the benchmarks found). It must happen before any async code runs.
// `SWITCHBOARD_NIO_EXECUTOR=0` keeps the default executor.
if getenv("SWITCHBOARD_NIO_EXECUTOR").map({ String(cString: $0) }) != "0" {
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
