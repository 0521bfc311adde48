// The public library: re-exports the C type model, the declaration parser and the
// validated signatures that typed-call conformances mention.

@_exported import CTypeModel
@_exported import CDeclParser
@_exported import ABILowering
