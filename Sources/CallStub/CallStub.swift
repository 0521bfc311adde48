// The public library. For now it re-exports the C type model and the declaration
// parser; bound functions, values and calls arrive with the slow-path issue.

@_exported import CTypeModel
@_exported import CDeclParser
