// swift-tools-version: 6.1
// CallStub: call C functions whose signatures are known only at run time.
// Layering (docs/ARCHITECTURE.md): data flows one way, CTypeModel imports only Locks,
// and each C library is reached through one thin C-facing target.

import PackageDescription

let package = Package(
    name: "CallStub",
    products: [
        .library(name: "CallStub", targets: ["CallStub"]),
        .executable(name: "callstub", targets: ["callstub"]),
        // The C interface (include/callstub.h): libCallStubC.so, installed as libcallstub.so
        // by scripts/install.
        .library(name: "CallStubC", type: .dynamic, targets: ["CallStubC"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // MARK: - C-facing targets (one Swift module imports each)
        // libLLVM is not linked: CLLVM/lazy_llvm.c loads it on first use.
        .target(name: "CLLVM"),
        .target(
            name: "CFFI",
            linkerSettings: [.linkedLibrary("ffi")]
        ),
        .target(
            name: "CLibDW",
            linkerSettings: [.linkedLibrary("dw"), .linkedLibrary("elf")]
        ),
        // libctf without BFD (binutils-dev's ctf-api.h, libctf-nobfd0), sections read by libelf.
        .target(
            name: "CLibCTF",
            linkerSettings: [.linkedLibrary("ctf-nobfd"), .linkedLibrary("elf")]
        ),

        // MARK: - Swift modules
        // The one lock type (a pthread mutex in ThreadSanitizer builds, see Lock.swift).
        .target(name: "Locks"),
        .target(name: "CTypeModel", dependencies: ["Locks"]),
        .target(name: "CDeclParser", dependencies: ["CTypeModel", "Locks"]),
        .target(name: "ABILowering", dependencies: ["CTypeModel"]),
        .target(name: "DWARFImport", dependencies: ["Locks", "CTypeModel", "CLibDW"]),
        .target(name: "CTFImport", dependencies: ["Locks", "CTypeModel", "CLibCTF"]),
        .target(name: "LLVMBackend", dependencies: ["Locks", "ABILowering", "CTypeModel", "CLLVM"]),
        .target(name: "FFIBackend", dependencies: ["ABILowering", "CTypeModel", "CFFI"]),
        .target(
            name: "CallStub",
            dependencies: [
                "Locks", "CTypeModel", "CDeclParser", "ABILowering", "DWARFImport", "CTFImport", "LLVMBackend", "FFIBackend",
                "CRegisterCall", "CSwiftRuntime",
            ]
        ),
        // The C API: @_cdecl functions over the public Swift API, nothing more; its three
        // hot entry points are C (CallStubCFastPath), jumping into stubs or back to Swift.
        .target(
            name: "CallStubCFastPath",
            cSettings: [.headerSearchPath("../../include")],
            linkerSettings: [.linkedLibrary("ffi")]
        ),
        .target(name: "CallStubC", dependencies: ["CallStub", "Locks", "CallStubCFastPath"]),
        // `callstub call`'s report of a crash inside the called function.
        .target(name: "CCrashReport"),
        // Typed register calls: C function types taking exactly the registers a signature uses.
        .target(name: "CRegisterCall"),
        // The Swift runtime's non-atomic retain, for objects one thread holds alone.
        .target(name: "CSwiftRuntime"),
        .executableTarget(
            name: "callstub",
            dependencies: [
                "CallStub", "CCrashReport",
                // For `callstub bench`'s CTF line (opening CTF directly, timed).
                "CTFImport",
                // For `callstub bench`'s C API column (C calling callstub_call).
                "CallStubC",
                // For `callstub bench`'s bare ffi_call column and plans.
                "ABILowering", "FFIBackend",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The README's examples and the callback lifetimes, built in release mode and run by
        // scripts/test.
        .executableTarget(name: "callstub-examples", dependencies: ["CallStub"], path: "Examples"),

        // MARK: - Tests (one target per module; the C compiler is the oracle where it can answer)
        .target(name: "CTestSupport", dependencies: ["CTypeModel", "Locks"], path: "Tests/CTestSupport"),
        .testTarget(name: "CTypeModelTests", dependencies: ["CTypeModel", "CDeclParser", "CTestSupport"]),
        .testTarget(name: "CDeclParserTests", dependencies: ["CDeclParser", "CTypeModel", "CTestSupport"]),
        .testTarget(
            name: "ABILoweringTests", dependencies: ["ABILowering", "CDeclParser", "CTypeModel", "CTestSupport"],
            exclude: ["Golden"]),
        .testTarget(name: "DWARFImportTests", dependencies: ["DWARFImport", "ABILowering", "CDeclParser", "CTypeModel", "CTestSupport"]),
        .testTarget(
            name: "CTFImportTests",
            dependencies: ["CTFImport", "DWARFImport", "ABILowering", "CDeclParser", "CTypeModel", "CTestSupport", "CallStub"]),
        .testTarget(name: "BackendSmokeTests", dependencies: ["ABILowering", "CDeclParser", "DWARFImport", "LLVMBackend", "FFIBackend", "CTestSupport"]),
        // (callstub-examples: the README's and the lifetime examples, run in the debug build too.)
        .testTarget(
            name: "CallStubTests", dependencies: ["CallStub", "CTestSupport", "Locks", "callstub-examples", "CTFImport", "DWARFImport"]),
        // C programs against include/callstub.h and libCallStubC.so (the C sources are run, not built).
        .testTarget(name: "CAPITests", dependencies: ["CTestSupport"], exclude: ["C"]),
        .testTarget(name: "CLITests", dependencies: ["callstub", "CTestSupport", "CDeclParser", "CTypeModel"]),
        .testTarget(name: "HeaderCorpusTests", dependencies: ["CallStub", "CDeclParser", "CTypeModel", "CTestSupport"]),
        .testTarget(name: "DifferentialTests", dependencies: ["CallStub", "CallStubC", "Locks", "CTypeModel", "CDeclParser", "CTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
