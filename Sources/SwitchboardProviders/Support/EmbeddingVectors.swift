#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Embedding vectors in the forms OpenAI's API carries them.
enum EmbeddingVectors {
    /// Little-endian float32s in base64, as OpenAI sends for `encoding_format: base64`.
    static func base64Float32(_ values: [Double]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(values.count * 4)
        for value in values {
            let bits = Float(value).bitPattern.littleEndian
            withUnsafeBytes(of: bits) { bytes.append(contentsOf: $0) }
        }
        return Data(bytes).base64EncodedString()
    }
}
