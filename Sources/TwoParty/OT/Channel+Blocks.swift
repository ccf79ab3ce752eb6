// Framed messages of Blocks and words (Block is not declared BitwiseCopyable, so go through raw bytes).
import Transport

extension Channel {
    func sendBlocks(type: UInt16, _ blocks: [Block]) throws {
        try blocks.withUnsafeBytes { try sendMessage(type: type, $0) }
    }

    func receiveBlocks(expecting type: UInt16, count: Int) throws -> [Block] {
        var blocks = [Block](repeating: .zero, count: count)
        try blocks.withUnsafeMutableBytes { try receiveMessage(expecting: type, into: $0) }
        return blocks
    }
}
