// Swift types for the typed paths of the campaign: each C type of a generated signature
// maps to the Swift type a user would write, read from and written to C bytes.

import CTypeModel
import CallStub

/// A Swift type the campaign passes to a typed downcall or receives in a typed callback.
protocol CampaignArgument: CArgumentConvertible, SendableMetatype {
    static func campaignLoad(_ source: UnsafeRawPointer, _ type: CQualType) -> Self
    func campaignStore(_ destination: UnsafeMutableRawPointer)
}

/// A value the campaign reads back from C result bytes.
protocol CampaignLoadable {
    static func campaignLoad(_ source: UnsafeRawPointer, _ type: CQualType) -> Self
}

/// A Swift type a typed downcall returns or a typed callback gives back.
protocol CampaignResult: CResultConvertible, CampaignLoadable, SendableMetatype {
    func campaignStore(_ destination: UnsafeMutableRawPointer)
}

protocol CampaignScalarValue: CampaignArgument, CampaignResult, BitwiseCopyable {}

extension CampaignScalarValue {
    static func campaignLoad(_ source: UnsafeRawPointer, _ type: CQualType) -> Self { source.loadUnaligned(as: Self.self) }
    func campaignStore(_ destination: UnsafeMutableRawPointer) { destination.storeBytes(of: self, as: Self.self) }
}

extension Int8: CampaignScalarValue {}
extension UInt8: CampaignScalarValue {}
extension Int16: CampaignScalarValue {}
extension UInt16: CampaignScalarValue {}
extension Int32: CampaignScalarValue {}
extension UInt32: CampaignScalarValue {}
extension Int64: CampaignScalarValue {}
extension UInt64: CampaignScalarValue {}
extension Int: CampaignScalarValue {}
extension UInt: CampaignScalarValue {}
extension Int128: CampaignScalarValue {}
extension UInt128: CampaignScalarValue {}
extension Bool: CampaignScalarValue {}
extension Float: CampaignScalarValue {}
extension Double: CampaignScalarValue {}
extension Float80: CampaignScalarValue {}
extension CComplex: CampaignScalarValue {}
extension Optional: CampaignArgument, CampaignResult, CampaignLoadable, CampaignScalarValue where Wrapped == UnsafeRawPointer {}

extension CRecordValue: CampaignArgument, CampaignResult {
    static func campaignLoad(_ source: UnsafeRawPointer, _ type: CQualType) -> CRecordValue {
        guard case .record(let value) = try? CValue(loading: type, from: source) else {
            fatalError("campaign: \(type) is not a record type")
        }
        return value
    }

    func campaignStore(_ destination: UnsafeMutableRawPointer) {
        destination.copyMemory(from: bytes, byteCount: bytes.count)
    }
}

extension CVoid: CampaignResult {
    static func campaignLoad(_ source: UnsafeRawPointer, _ type: CQualType) -> CVoid { CVoid() }
    func campaignStore(_ destination: UnsafeMutableRawPointer) {}
}

enum CampaignSwiftTypes {
    /// The Swift type a user writes for a C type; `void` is `CVoid`.
    static func swiftType(for type: CQualType) -> any (CampaignArgument & CampaignResult).Type {
        switch type.resolved.type {
        case .integer(let kind): return integer(kind)
        case .enumeration(let enumeration): return integer(enumeration.definition!.underlying)
        case .floating(.float): return Float.self
        case .floating(.double): return Double.self
        case .floating(.longDouble): return Float80.self
        case .complex(.float): return CComplex<Float>.self
        case .complex(.double): return CComplex<Double>.self
        case .complex(.longDouble): return CComplex<Float80>.self
        case .pointer: return UnsafeRawPointer?.self
        case .record: return CRecordValue.self
        default: fatalError("campaign: no Swift type for \(type)")
        }
    }

    static func integer(_ kind: CIntegerKind) -> any (CampaignArgument & CampaignResult).Type {
        switch kind {
        case .bool: return Bool.self
        case .char, .signedChar: return Int8.self
        case .unsignedChar: return UInt8.self
        case .short: return Int16.self
        case .unsignedShort: return UInt16.self
        case .int: return Int32.self
        case .unsignedInt: return UInt32.self
        case .long: return Int.self
        case .unsignedLong: return UInt.self
        case .longLong: return Int64.self
        case .unsignedLongLong: return UInt64.self
        case .int128: return Int128.self
        case .unsignedInt128: return UInt128.self
        }
    }
}

/// What a callback handler needs to hand its arguments to the real callee: it lays them
/// out in a frame and calls `cs_drive_N` with the callee, which logs them and returns
/// the result the C caller then receives.
final class CampaignRelay: @unchecked Sendable {
    let layouts: [CTypeLayout]
    let types: [CQualType]
    let resultType: CQualType?
    let resultSize: Int
    let drive: CampaignDrive
    let callee: UnsafeRawPointer

    init(layouts: [CTypeLayout], types: [CQualType], resultType: CQualType?, resultSize: Int, drive: CampaignDrive, callee: UnsafeRawPointer) {
        self.layouts = layouts
        self.types = types
        self.resultType = resultType
        self.resultSize = resultSize
        self.drive = drive
        self.callee = callee
    }

    func makeFrame() -> ArgumentFrame { ArgumentFrame(layouts) }

    func forward<R: CampaignLoadable>(_ frame: ArgumentFrame, as: R.Type) -> R {
        let result = UnsafeMutableRawPointer.allocate(byteCount: max(resultSize, 16), alignment: 32)
        defer { result.deallocate() }
        result.initializeMemory(as: UInt8.self, repeating: 0, count: max(resultSize, 16))
        drive(callee, frame.slots, result)
        return R.campaignLoad(result, resultType ?? CQualType(.void))
    }
}
