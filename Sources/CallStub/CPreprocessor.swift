// The system C preprocessor, run on real headers so that their declarations can be
// parsed as they are: `cc -E -P -include zlib.h -x c /dev/null`, with -D/-I passed through.
// The process is started with posix_spawnp (found on PATH) and its output read from a
// temporary file, so neither pipe can fill while the other is read.

#if canImport(Glibc)
    import Glibc
#endif

/// How to preprocess headers: which preprocessor, and the `-D`/`-I` options it gets.
public struct CPreprocessorOptions: Hashable, Sendable {
    /// The C compiler driver that preprocesses (`-E`), looked up on `PATH` unless it is a path.
    public var command: String
    /// `NAME` or `NAME=VALUE`, each passed as `-D`.
    public var defines: [String]
    /// Directories searched for headers, each passed as `-I`.
    public var includePaths: [String]
    /// Further arguments for the driver, before the inputs (e.g. `-std=gnu11`, `-U NAME`).
    public var extraArguments: [String]
    /// Keep the `# 1 "file"` line markers (no `-P`); the parser skips them either way.
    public var keepsLineMarkers: Bool

    public init(
        command: String = "cc", defines: [String] = [], includePaths: [String] = [], extraArguments: [String] = [],
        keepsLineMarkers: Bool = false
    ) {
        self.command = command
        self.defines = defines
        self.includePaths = includePaths
        self.extraArguments = extraArguments
        self.keepsLineMarkers = keepsLineMarkers
    }

    /// The arguments that preprocess `headers` (names as in `#include <…>`, or paths).
    public func arguments(including headers: [String], output: String) -> [String] {
        var arguments = keepsLineMarkers ? [command, "-E"] : [command, "-E", "-P"]
        arguments += defines.map { "-D" + $0 }
        arguments += includePaths.map { "-I" + $0 }
        arguments += extraArguments
        for header in headers { arguments += ["-include", header] }
        arguments += ["-o", output, "-x", "c", "/dev/null"]
        return arguments
    }
}

/// Runs the C preprocessor.
public enum CPreprocessor {
    /// The preprocessed text of `headers`, in order, as one translation unit: what a C
    /// file with an `#include` line for each would see. Throws `preprocessorFailed` with
    /// the preprocessor's own message (a missing header, a missing preprocessor).
    public static func preprocess(
        including headers: [String], options: CPreprocessorOptions = CPreprocessorOptions()
    ) throws(CallStubError) -> String {
        guard !headers.isEmpty else { return "" }
        var template = Array("/tmp/callstub-cpp-XXXXXX.i".utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemps($0.baseAddress!, 2) }
        guard descriptor >= 0 else {
            throw .preprocessorFailed(command: options.command, message: "cannot create a temporary file: \(String(cString: strerror(errno)))")
        }
        close(descriptor)
        let output = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        defer { unlink(output) }
        let arguments = options.arguments(including: headers, output: output)
        let (status, messages) = try run(arguments, command: options.command)
        guard status == 0 else {
            let text = messages.isEmpty ? "exit status \(status)" : messages
            throw .preprocessorFailed(command: arguments.joined(separator: " "), message: text)
        }
        guard let text = readFile(output) else {
            throw .preprocessorFailed(command: arguments.joined(separator: " "), message: "cannot read its output \(output)")
        }
        return text
    }

    // MARK: - Process and files

    /// Runs `arguments` (see `ChildProcess.run`), naming the preprocessor if it cannot start.
    private static func run(_ arguments: [String], command: String) throws(CallStubError) -> (Int32, String) {
        switch ChildProcess.run(arguments) {
        case .success(let outcome):
            return outcome
        case .failure(let failure):
            let reason = failure.code == ENOENT ? "not found on PATH; install a C compiler (gcc or clang) or name one" : failure.description
            throw .preprocessorFailed(command: command, message: "the C preprocessor '\(command)' was \(reason)")
        }
    }

    private static func readFile(_ path: String) -> String? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if count == 0 { break }
            bytes += buffer[0..<count]
        }
        return ferror(file) == 0 ? String(decoding: bytes, as: UTF8.self) : nil
    }

}

extension String {
    func trimmingTrailingNewlines() -> String {
        var text = Substring(self)
        while text.last == "\n" { text = text.dropLast() }
        return String(text)
    }
}
