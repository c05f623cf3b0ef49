import Foundation
import GRPCCore
import OrchionAPI
import OrchionCore
import SwiftProtobuf

/// `orchion.v1.SecretService`: task secrets, for admins. Values go in and never come out.
struct SecretServiceHandler: Orchion_V1_SecretService.SimpleServiceProtocol {
  let secrets: SecretRegistry

  func setSecret(
    request: Orchion_V1_SetSecretRequest,
    context: ServerContext
  ) async throws -> Orchion_V1_SetSecretResponse {
    let result = try await secrets.set(name: request.name, value: request.value)
    return .with {
      $0.info = result.info
      $0.created = result.created
    }
  }

  func listSecrets(
    request: Orchion_V1_ListSecretsRequest,
    context: ServerContext
  ) async throws -> Orchion_V1_ListSecretsResponse {
    .with { $0.secrets = secrets.list() }
  }

  func deleteSecret(
    request: Orchion_V1_DeleteSecretRequest,
    context: ServerContext
  ) async throws -> Orchion_V1_DeleteSecretResponse {
    let info = try await secrets.delete(request.name)
    return .with { $0.info = info }
  }
}
