// The client's API speaks the wire messages (`Orchion_V1_*`) and the domain's values
// (`ServerAddress`, `OrchionError`), whose modules are not products of this package: a program
// depending on `OrchionClient` could not name them. Re-exported, `import OrchionClient` is all
// it needs (scripts/check-client-package.sh builds such a program).
@_exported public import OrchionAPI
@_exported public import OrchionCore
