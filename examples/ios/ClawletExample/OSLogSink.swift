// The SDK's log records in the unified log (Console.app, `log stream --predicate
// 'subsystem == "dev.clawlet.example"'`): installed once per process, before the first
// NodeClient (records written earlier are kept and delivered when it is installed). The SDK calls
// it on its own threads; os_log is thread-safe and cheap.
import Clawlet
import os

final class OSLogSink: LogSink, @unchecked Sendable {
    private let logger = Logger(subsystem: "dev.clawlet.example", category: "clawlet")

    func log(level: LogLevel, target: String, message: String) {
        let type: OSLogType
        switch level {
        case .error: type = .error
        case .warn: type = .default
        case .info: type = .info
        case .debug, .trace: type = .debug
        }
        // The SDK never puts secrets in its messages, so they may be public in the log.
        logger.log(level: type, "\(target, privacy: .public): \(message, privacy: .public)")
    }

    /// `.debug` shows every connection attempt; `.info` is enough for a release.
    static func install(maxLevel: LogLevel = .info) {
        setLogSink(sink: OSLogSink(), maxLevel: maxLevel)
    }
}
