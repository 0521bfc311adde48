// The public library: re-exports the C type model, the declaration parser and the
// validated signatures that typed-call conformances mention.

@_exported import CTypeModel
@_exported import CDeclParser
@_exported import ABILowering

/// This build's version (the CLI's `--version`, the C API's `callstub_version()`).
public enum CallStubVersion {
    public static let current = "0.2.0"
}
