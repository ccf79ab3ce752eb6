// Framed messages of Blocks (Block is not declared BitwiseCopyable, so go through raw bytes).
import Transport

extension Channel {
    /// Sends one frame of type `type` whose payload is the 16-byte blocks in memory order.
    public func sendBlocks(type: UInt16, _ blocks: [Block]) throws {
        try blocks.withUnsafeBytes { try sendMessage(type: type, $0) }
    }

    /// Receives a frame of type `type` holding exactly `count` blocks.
    public func receiveBlocks(expecting type: UInt16, count: Int) throws -> [Block] {
        var blocks = [Block](repeating: .zero, count: count)
        try blocks.withUnsafeMutableBytes { try receiveMessage(expecting: type, into: $0) }
        return blocks
    }
}
