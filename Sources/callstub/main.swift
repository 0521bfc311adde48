import CallStub
let text = CommandLine.arguments[1]
do {
    let result = try CDeclParser.parse(text)
    print(CPrinter().print(result.declarations), terminator: "")
    for d in result.declarations { if case .record(let r) = d, let def = r.definition { print(r, def.layout) } }
} catch { print(error.rendered) }
