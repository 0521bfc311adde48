// swift-tools-version: 6.1
// CallStub's package-benchmark suites, kept in a package of their own so that library
// users never resolve the benchmark dependencies. Run from this directory:
//   swift package benchmark
// (see ../docs/benchmarks.md). ordo-one/benchmark needs its MallocInterposer trait named.

import PackageDescription

let package = Package(
    name: "CallStubBenchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "CallStub", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "CallStubBenchmarks",
            dependencies: [
                .product(name: "CallStub", package: "CallStub"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/CallStubBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
