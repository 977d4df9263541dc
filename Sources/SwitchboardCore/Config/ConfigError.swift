/// A configuration problem, with the 1-based line it was found on when it came from a file.
package struct ConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    package var message: String
    package var line: Int?
    package var file: String?

    package init(_ message: String, line: Int? = nil, file: String? = nil) {
        self.message = message
        self.line = line
        self.file = file
    }

    package var description: String {
        switch (file, line) {
        case (let file?, let line?): return "\(file):\(line): \(message)"
        case (nil, let line?): return "line \(line): \(message)"
        case (let file?, nil): return "\(file): \(message)"
        case (nil, nil): return message
        }
    }
}
