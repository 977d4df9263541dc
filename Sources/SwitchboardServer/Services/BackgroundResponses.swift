import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The `background: true` responses this process runs: each one's status until its answer is
/// stored (`queued` → `in_progress`, then readable from the store as any stored response), or
/// for good when it failed or was cancelled (the last ``limit`` of those are kept for polling).
/// A response is its owner's: another owner sees none of them.
final class BackgroundResponses: Sendable {
    enum Outcome: Sendable {
        /// Answered and handed to the conversation writer; `settle` waits until it is readable.
        case completed(settle: @Sendable () async -> Void)
        case failed(Responses.ErrorInfo)
    }

    private struct Entry {
        var owner: String
        var response: Responses.Object
        var task: Task<Void, Never>?
        var finished = false
    }

    private struct State {
        var entries: [String: Entry] = [:]
        /// Finished (failed or cancelled) ids, oldest first.
        var finished: [String] = []
    }

    private let state = Mutex(State())
    let limit: Int

    init(limit: Int = 1000) {
        self.limit = limit
    }

    /// Registers `response` (status `queued`) and runs `work` for it.
    func start(_ response: Responses.Object, owner: String, work: @escaping @Sendable () async -> Outcome) {
        let id = response.id
        state.withLock { $0.entries[id] = Entry(owner: owner, response: response) }
        let task = Task { [weak self] in
            self?.update(id) { $0.status = "in_progress" }
            let outcome = await work()
            switch outcome {
            case .completed(let settle):
                await settle()
                self?.state.withLock { state in
                    // A cancelled response stays cancelled, whatever its call did meanwhile.
                    guard state.entries[id]?.finished == false else { return }
                    state.entries[id] = nil
                }
            case .failed(let error):
                self?.finish(id) { response in
                    response.status = "failed"
                    response.error = error
                }
            }
        }
        let cancelled = state.withLock { state in
            guard state.entries[id]?.finished == false else { return state.entries[id] != nil }
            state.entries[id]?.task = task
            return false
        }
        // Cancelled before its task was known.
        if cancelled { task.cancel() }
    }

    /// The response as it stands, while it runs or after it failed or was cancelled; nil when it
    /// is not one of the owner's running responses (a completed one is read from the store).
    func response(_ id: String, owner: String) -> Responses.Object? {
        state.withLock { state in
            guard let entry = state.entries[id], entry.owner == owner else { return nil }
            return entry.response
        }
    }

    /// Cancels a queued or running response; nil when there is none of the owner's by that id.
    func cancel(_ id: String, owner: String) -> Responses.Object? {
        let (task, response): (Task<Void, Never>?, Responses.Object?) = state.withLock { state in
            guard var entry = state.entries[id], entry.owner == owner else { return (nil, nil) }
            guard !entry.finished else { return (nil, entry.response) }
            entry.response.status = "cancelled"
            entry.finished = true
            let task = entry.task
            entry.task = nil
            state.entries[id] = entry
            Self.keep(id, in: &state, limit: limit)
            return (task, entry.response)
        }
        task?.cancel()
        return response
    }

    /// Cancels every running response (the process is stopping).
    func cancelAll() {
        let tasks = state.withLock { state in state.entries.values.compactMap(\.task) }
        for task in tasks { task.cancel() }
    }

    private func update(_ id: String, _ change: (inout Responses.Object) -> Void) {
        state.withLock { state in
            guard var entry = state.entries[id], !entry.finished else { return }
            change(&entry.response)
            state.entries[id] = entry
        }
    }

    private func finish(_ id: String, _ change: (inout Responses.Object) -> Void) {
        state.withLock { state in
            guard var entry = state.entries[id], !entry.finished else { return }
            change(&entry.response)
            entry.finished = true
            entry.task = nil
            state.entries[id] = entry
            Self.keep(id, in: &state, limit: limit)
        }
    }

    private static func keep(_ id: String, in state: inout State, limit: Int) {
        state.finished.append(id)
        while state.finished.count > limit {
            state.entries[state.finished.removeFirst()] = nil
        }
    }
}
