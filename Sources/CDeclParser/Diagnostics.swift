// Diagnostics with line, column and a caret line, in the style of C compilers:
//   line 3, column 14: expected ';' after declaration
//     int f(int x) int
//                  ^

/// A position in the source text; lines and columns start at 1, columns count characters.
public struct CSourceLocation: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    /// Offset of the position in the source's UTF-8 bytes.
    public var offset: Int

    public init(line: Int, column: Int, offset: Int) {
        self.line = line
        self.column = column
        self.offset = offset
    }

    public var description: String { "line \(line), column \(column)" }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.offset < rhs.offset }
}

/// One message about the source, tied to a location.
public struct CDiagnostic: Hashable, Sendable, CustomStringConvertible {
    public enum Severity: String, Hashable, Sendable {
        case error
        case warning
    }

    public var severity: Severity
    public var location: CSourceLocation
    public var message: String

    public init(_ severity: Severity, at location: CSourceLocation, _ message: String) {
        self.severity = severity
        self.location = location
        self.message = message
    }

    /// `line 3, column 14: message` (warnings say so).
    public var description: String {
        "\(location): \(severity == .warning ? "warning: " : "")\(message)"
    }

    /// The message, the source line it points into, and a caret under the column.
    public func rendered(in source: String) -> String {
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
        guard location.line >= 1, location.line <= lines.count else { return description }
        let text = String(lines[location.line - 1]).replacingTabs()
        let caret = String(repeating: " ", count: max(0, location.column - 1)) + "^"
        return "\(description)\n    \(text)\n    \(caret)"
    }
}

/// A declaration text that could not be parsed: the first error, and any warnings before it.
public struct CParseError: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [CDiagnostic]
    /// The source the diagnostics point into.
    public var source: String

    /// The first error.
    public var error: CDiagnostic { diagnostics.first { $0.severity == .error } ?? diagnostics[0] }

    /// `line L, column C: message`.
    public var description: String { error.description }

    /// Every diagnostic with its source line and caret.
    public var rendered: String { diagnostics.map { $0.rendered(in: source) }.joined(separator: "\n") }
}

extension String {
    /// Tabs become single spaces so that the caret lines up with the column count.
    fileprivate func replacingTabs() -> String {
        String(map { $0 == "\t" ? " " : $0 })
    }
}

extension CParseError {
    /// The error thrown inside the lexer and parser before the source is attached.
    struct Internal: Error {
        var location: CSourceLocation
        var message: String
        init(_ location: CSourceLocation, _ message: String) {
            self.location = location
            self.message = message
        }
    }
}
