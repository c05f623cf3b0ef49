// swift-tools-version:6.1
import PackageDescription

/// One settings array for every target, as grpc-swift-2 does: Swift 6 mode and the upcoming
/// features that keep imports and existentials explicit.
let defaultSwiftSettings: [SwiftSetting] = [
  .swiftLanguageMode(.v6),
  .enableUpcomingFeature("ExistentialAny"),
  .enableUpcomingFeature("MemberImportVisibility"),
]

let librarySwiftSettings: [SwiftSetting] =
  defaultSwiftSettings + [.enableUpcomingFeature("InternalImportsByDefault")]

let package = Package(
  name: "orchion",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "orchion", targets: ["orchion"]),
    .executable(name: "orchion-bench", targets: ["orchion-bench"]),
    .library(name: "OrchionClient", targets: ["OrchionClient"]),
  ],
  dependencies: [
    .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
    .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
    .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
    .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0", traits: []),
    .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
    .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
    .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
    .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
    .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
    .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
    .package(url: "https://github.com/apple/swift-async-algorithms.git", from: "1.1.4"),
    // No default traits: swift-configuration support is not used, and it is a build of its own.
    .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
    .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
    .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    .package(url: "https://github.com/modelcontextprotocol/swift-sdk.git", from: "0.12.1"),
  ],
  targets: [
    // Generated from api/ by `make proto`; never edited by hand.
    .target(
      name: "OrchionAPI",
      dependencies: [
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      swiftSettings: defaultSwiftSettings
    ),
    // The domain: identifiers, nodes, resources, validation, errors, clocks. No I/O.
    .target(
      name: "OrchionCore",
      swiftSettings: librarySwiftSettings
    ),
    // The chaos soak's history and its checker (orchion-bench chaos): no I/O, so every rule is
    // tested on a history made to break it.
    .target(
      name: "OrchionChaos",
      dependencies: ["OrchionCore"],
      swiftSettings: librarySwiftSettings
    ),
    // Conversions between the wire types (OrchionAPI) and the domain (OrchionCore).
    .target(
      name: "OrchionWire",
      dependencies: [
        "OrchionAPI", "OrchionCore", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      swiftSettings: librarySwiftSettings
    ),
    // Where tasks run: a pure function from a cluster snapshot and a queue to placements.
    .target(
      name: "OrchionScheduler",
      dependencies: ["OrchionCore"],
      swiftSettings: librarySwiftSettings
    ),
    // Durable state: the Store protocol, SQLite (embedded, default) and PostgreSQL.
    .target(
      name: "OrchionStore",
      dependencies: [
        "OrchionAPI",
        "OrchionCore",
        "OrchionWire",
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "GRDB", package: "GRDB.swift"),
        .product(name: "PostgresNIO", package: "postgres-nio"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: librarySwiftSettings
    ),
    .target(
      name: "OrchionServer",
      dependencies: [
        "OrchionAPI",
        "OrchionStore",
        "OrchionCore",
        "OrchionScheduler",
        "OrchionWire",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCInProcessTransport", package: "grpc-swift-2"),
        .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
        .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOHTTP2", package: "swift-nio-http2"),
        .product(name: "CoreMetrics", package: "swift-metrics"),
      ],
      swiftSettings: librarySwiftSettings
    ),
    // The MCP server (tools, task resources, HTTP sessions) over the Orchion API: one
    // implementation for the orchestrator's /mcp and for `orchion mcp` on stdio.
    .target(
      name: "OrchionMCP",
      dependencies: [
        "OrchionAPI",
        "OrchionClient",
        .product(name: "MCP", package: "swift-sdk"),
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      swiftSettings: librarySwiftSettings
    ),
    // The orchestrator's HTTP side: dashboard, login links, /metrics, /healthz and /readyz, on
    // Hummingbird, beside the gRPC API it reads through OrchionServer's in-process calls.
    .target(
      name: "OrchionWeb",
      dependencies: [
        "OrchionAPI",
        "OrchionClient",
        "OrchionCore",
        "OrchionMCP",
        "OrchionServer",
        "OrchionWire",
        .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCInProcessTransport", package: "grpc-swift-2"),
        .product(name: "MCP", package: "swift-sdk"),
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "HummingbirdCore", package: "hummingbird"),
        .product(name: "HummingbirdTLS", package: "hummingbird"),
        .product(name: "HTTPTypes", package: "swift-http-types"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "CoreMetrics", package: "swift-metrics"),
        .product(name: "Prometheus", package: "swift-prometheus"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "Crypto", package: "swift-crypto"),
      ],
      swiftSettings: librarySwiftSettings
    ),
    // fork/exec with a supervising parent per task: process groups, PDEATHSIG, status pipe.
    .target(name: "COrchionSpawn"),
    // The node agent: connection to the orchestrator, task execution, capability probes.
    .target(
      name: "OrchionAgent",
      dependencies: [
        "OrchionAPI",
        "OrchionCore",
        "OrchionClient",
        "OrchionWire",
        "COrchionSpawn",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      ],
      swiftSettings: librarySwiftSettings
    ),
    .target(
      name: "OrchionClient",
      dependencies: [
        "OrchionAPI",
        "OrchionCore",
        "OrchionWire",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      swiftSettings: librarySwiftSettings
    ),
    // What the two executables share: how a command finds and authenticates to the
    // orchestrator, flag value types, console output, process setup.
    .target(
      name: "OrchionCommandLine",
      dependencies: [
        "OrchionClient",
        "OrchionCore",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
      ],
      swiftSettings: librarySwiftSettings
    ),
    // The product: orchestrator, agent and CLI in one binary.
    .executableTarget(
      name: "orchion",
      dependencies: [
        "OrchionAPI",
        "OrchionAgent",
        "OrchionClient",
        "OrchionCommandLine",
        "OrchionCore",
        "OrchionMCP",
        "OrchionServer",
        "OrchionStore",
        "OrchionWeb",
        "OrchionWire",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "MCP", package: "swift-sdk"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "SwiftASN1", package: "swift-asn1"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        .product(name: "X509", package: "swift-certificates"),
      ],
      swiftSettings: defaultSwiftSettings
    ),
    // Load generators and fault injectors (`make bench`): they drive a real `orchion` from the
    // outside, as clients, simulated nodes and failing machines.
    .executableTarget(
      name: "orchion-bench",
      dependencies: [
        "OrchionAPI",
        "OrchionClient",
        "OrchionCommandLine",
        "OrchionCore",
        "OrchionScheduler",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      swiftSettings: defaultSwiftSettings
    ),
    // Shared test helpers: a manual clock, an in-process server harness, process helpers.
    .target(
      name: "OrchionTestSupport",
      dependencies: [
        "OrchionAPI",
        "OrchionCore",
        "OrchionServer",
        "OrchionClient",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCInProcessTransport", package: "grpc-swift-2"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        "OrchionStore",
        .product(name: "PostgresNIO", package: "postgres-nio"),
      ],
      path: "Tests/OrchionTestSupport",
      swiftSettings: defaultSwiftSettings
    ),
    .testTarget(
      name: "OrchionCoreTests",
      dependencies: ["OrchionCore", "OrchionTestSupport"],
      swiftSettings: defaultSwiftSettings
    ),
    .testTarget(
      name: "OrchionStoreTests",
      dependencies: [
        "OrchionStore", "OrchionAPI", "OrchionCore", "OrchionTestSupport",
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "PostgresNIO", package: "postgres-nio"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: defaultSwiftSettings
    ),
    .testTarget(
      name: "OrchionWireTests",
      dependencies: [
        "OrchionWire", "OrchionAPI", "OrchionCore", "OrchionTestSupport",
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      swiftSettings: defaultSwiftSettings
    ),
    .testTarget(
      name: "OrchionWebTests",
      dependencies: [
        "OrchionWeb", "OrchionAPI", "OrchionCore",
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      swiftSettings: defaultSwiftSettings
    ),
    .testTarget(
      name: "OrchionMCPTests",
      dependencies: [
        "OrchionMCP", "OrchionAPI",
        .product(name: "MCP", package: "swift-sdk"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      swiftSettings: defaultSwiftSettings
    ),
    .testTarget(
      name: "OrchionChaosTests",
      dependencies: ["OrchionChaos", "OrchionCore"],
      swiftSettings: defaultSwiftSettings
    ),
    .testTarget(
      name: "OrchionSchedulerTests",
      dependencies: ["OrchionScheduler", "OrchionCore"],
      swiftSettings: defaultSwiftSettings
    ),
    .testTarget(
      name: "OrchionClientTests",
      dependencies: [
        "OrchionClient", "OrchionAPI", "OrchionCore", "OrchionTestSupport",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      swiftSettings: defaultSwiftSettings
    ),
    .testTarget(
      name: "OrchionAgentTests",
      dependencies: [
        "OrchionAgent", "OrchionAPI", "OrchionClient", "OrchionCore", "OrchionServer",
        "OrchionWire", "OrchionTestSupport",
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: defaultSwiftSettings
    ),
    .testTarget(
      name: "OrchionServerTests",
      dependencies: [
        "OrchionServer", "OrchionStore", "OrchionClient", "OrchionAPI", "OrchionCore",
        "OrchionWire", "OrchionScheduler", "OrchionTestSupport",
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCInProcessTransport", package: "grpc-swift-2"),
        .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOEmbedded", package: "swift-nio"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: defaultSwiftSettings
    ),
    .testTarget(
      name: "orchionTests",
      dependencies: [
        "OrchionAPI", "OrchionClient", "OrchionCore", "OrchionTestSupport",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      swiftSettings: defaultSwiftSettings
    ),
  ]
)
