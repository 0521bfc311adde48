// Swift structs standing for C structs in typed calls (`CRecordConvertible`): the fixture's
// records of every eightbyte class mix that have Swift equivalents, made, echoed and
// weighed by C through both backends, agreeing with C and with the `CRecordValue` path; a
// Swift struct whose layout differs from the C record's is refused when the typed handle
// is made, naming the member.

import CTestSupport
import CallStub
import Testing

struct SwiftI2: CRecordConvertible, Equatable { var a: Int32; var b: Int32
    static var cRecordFields: [CRecordField] { [.init(\SwiftI2.a), .init(\SwiftI2.b)] } }
struct SwiftIF: CRecordConvertible, Equatable { var a: Int32; var b: Float
    static var cRecordFields: [CRecordField] { [.init(\SwiftIF.a), .init(\SwiftIF.b)] } }
struct SwiftI3: CRecordConvertible, Equatable { var a: Int32; var b: Int32; var c: Int32
    static var cRecordFields: [CRecordField] { [.init(\SwiftI3.a), .init(\SwiftI3.b), .init(\SwiftI3.c)] } }
struct SwiftF3: CRecordConvertible, Equatable { var a: Float; var b: Float; var c: Float
    static var cRecordFields: [CRecordField] { [.init(\SwiftF3.a), .init(\SwiftF3.b), .init(\SwiftF3.c)] } }
struct SwiftDD: CRecordConvertible, Equatable { var a: Double; var b: Double
    static var cRecordFields: [CRecordField] { [.init(\SwiftDD.a), .init(\SwiftDD.b)] } }
struct SwiftLD: CRecordConvertible, Equatable { var a: Int; var b: Double
    static var cRecordFields: [CRecordField] { [.init(\SwiftLD.a), .init(\SwiftLD.b)] } }
struct SwiftFID: CRecordConvertible, Equatable { var a: Float; var b: Int32; var c: Double
    static var cRecordFields: [CRecordField] { [.init(\SwiftFID.a), .init(\SwiftFID.b), .init(\SwiftFID.c)] } }
struct SwiftL3: CRecordConvertible, Equatable { var a: Int; var b: Int; var c: Int
    static var cRecordFields: [CRecordField] { [.init(\SwiftL3.a), .init(\SwiftL3.b), .init(\SwiftL3.c)] } }
struct SwiftNEST: CRecordConvertible, Equatable { var p: SwiftI2; var q: SwiftDD
    static var cRecordFields: [CRecordField] { [.init(\SwiftNEST.p), .init(\SwiftNEST.q)] } }

// Wrong on purpose: members swapped, a narrower member, a member missing.
struct SwappedFID: CRecordConvertible { var b: Int32; var a: Float; var c: Double
    static var cRecordFields: [CRecordField] { [.init(\SwappedFID.b), .init(\SwappedFID.a), .init(\SwappedFID.c)] } }
struct NarrowLD: CRecordConvertible { var a: Int32; var b: Double
    static var cRecordFields: [CRecordField] { [.init(\NarrowLD.a), .init(\NarrowLD.b)] } }
struct ShortI3: CRecordConvertible { var a: Int32; var b: Int32
    static var cRecordFields: [CRecordField] { [.init(\ShortI3.a), .init(\ShortI3.b)] } }
struct FloatDD: CRecordConvertible { var a: Float; var pad: Float; var b: Double
    static var cRecordFields: [CRecordField] { [.init(\FloatDD.a), .init(\FloatDD.b)] } }

@Suite struct TypedRecordTests {
    /// make_X(10), echo_X and weigh_X through a Swift struct: C's values, and the same
    /// weight as the CRecordValue path.
    func roundTrip<T: CRecordConvertible & Equatable>(
        _ type: T.Type, _ name: String, expected: T, weight: Double, in library: SharedLibrary
    ) throws {
        let make = try library.function("make_\(name)").typed(Int32.self, returning: T.self)
        let echo = try library.function("echo_\(name)").typed(T.self, returning: T.self)
        let weigh = try library.function("weigh_\(name)").typed(T.self, returning: Double.self)
        let made = make(10)
        #expect(made == expected, "make_\(name)")
        #expect(echo(made) == expected, "echo_\(name)")
        #expect(weigh(made) == weight, "weigh_\(name)")
        // The oracle: the CRecordValue path, from the same C values.
        let viaValue = try library.function("weigh_\(name)").typed(CRecordValue.self, returning: Double.self)
        let value = try library.function("make_\(name)").typed(Int32.self, returning: CRecordValue.self)(10)
        #expect(viaValue(value) == weight, "weigh_\(name) through CRecordValue")
    }

    @Test(arguments: FixtureLibrary.built, backends)
    func swiftStructsPassAndReturnAsC(_ fixture: FixtureLibrary, _ backend: BindingOptions.Backend) throws {
        let library = try openFixture(fixture, backend)
        // Field k of make_X(10) is 10 + k; weigh_X weights field k by k + 1.
        try roundTrip(SwiftI2.self, "I2", expected: SwiftI2(a: 10, b: 11), weight: 32, in: library)
        try roundTrip(SwiftIF.self, "IF", expected: SwiftIF(a: 10, b: 11), weight: 32, in: library)
        try roundTrip(SwiftI3.self, "I3", expected: SwiftI3(a: 10, b: 11, c: 12), weight: 68, in: library)
        try roundTrip(SwiftF3.self, "F3", expected: SwiftF3(a: 10, b: 11, c: 12), weight: 68, in: library)
        try roundTrip(SwiftDD.self, "DD", expected: SwiftDD(a: 10, b: 11), weight: 32, in: library)
        try roundTrip(SwiftLD.self, "LD", expected: SwiftLD(a: 10, b: 11), weight: 32, in: library)
        try roundTrip(SwiftFID.self, "FID", expected: SwiftFID(a: 10, b: 11, c: 12), weight: 68, in: library)
        try roundTrip(SwiftL3.self, "L3", expected: SwiftL3(a: 10, b: 11, c: 12), weight: 68, in: library)
        try roundTrip(
            SwiftNEST.self, "NEST", expected: SwiftNEST(p: SwiftI2(a: 10, b: 11), q: SwiftDD(a: 12, b: 13)), weight: 120,
            in: library)
    }

    @Test(arguments: FixtureLibrary.built)
    func layoutsThatDifferAreRefused(_ fixture: FixtureLibrary) throws {
        let library = try openFixture(fixture, fastBackend)
        func refusal<T: CRecordConvertible>(_ type: T.Type, _ function: String) throws -> String {
            do {
                _ = try library.function(function).typed(T.self, returning: Double.self)
                return "accepted"
            } catch {
                return error.description
            }
        }
        #expect(try refusal(SwappedFID.self, "weigh_FID").contains("member a"))
        #expect(try refusal(NarrowLD.self, "weigh_LD").contains("is 4 bytes; C's is 8"))
        #expect(try refusal(ShortI3.self, "weigh_I3").contains("is 8 bytes; struct I3 has 12"))
        #expect(try refusal(FloatDD.self, "weigh_DD").contains("member a"))
        #expect(try refusal(SwiftDD.self, "weigh_DD") == "accepted")
        // A record where C has a scalar.
        do {
            _ = try library.function("echo_int").typed(SwiftI2.self, returning: Int32.self)
            Issue.record("a struct accepted for an int parameter")
        } catch {
            #expect(error.description.contains("argument 1"), "\(error)")
        }
    }
}
