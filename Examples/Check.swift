// What an example found that is not what the README or the docs say.

struct ExampleFailure: Error, CustomStringConvertible {
    let description: String
}

/// Throws `message` unless `condition` holds.
func check(_ condition: Bool, _ message: @autoclosure () -> String) throws {
    if !condition { throw ExampleFailure(description: message()) }
}
