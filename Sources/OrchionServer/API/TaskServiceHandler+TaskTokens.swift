import OrchionCore

/// What a task's own token may do with tasks: a planner task fans work out by submitting
/// tasks, then reads, follows and cancels those — and no other task. It may pass on only the
/// secrets it was given itself, so a task cannot reach a credential by starting another.
extension TaskServiceHandler {
  /// The task calling with its own token, once its attempt is checked to be still running;
  /// `nil` for any other caller.
  /// - Throws: `unauthenticated` when the attempt has ended (its token died with it);
  ///   `unavailable` on a follower, which does not know which attempts run.
  func callingTask() throws -> TaskID? {
    guard case .task(let task, let attempt) = Caller.current?.principal else { return nil }
    guard leadership.isLeader else { throw leadership.notLeaderError() }
    guard cluster.currentNode(of: task, attempt: attempt) != nil else {
      throw OrchionError.unauthenticated(
        "this task token belongs to attempt \(attempt) of task \(task), which has ended"
      )
    }
    return task
  }

  /// Refuses a task's token a task it did not submit; anyone else passes.
  func checkVisibleToCaller(_ task: TaskRecord) throws {
    guard let caller = try callingTask(), task.parent != caller else { return }
    throw OrchionError.permissionDenied(
      "task '\(task.id)' was not started by task '\(caller)': a task's token may read, follow and cancel only the tasks it submitted"
    )
  }

  /// Refuses a child that names a secret its parent was not given.
  func checkSecretsInherited(_ spec: TaskSpec, from parent: TaskID) throws(OrchionError) {
    let given = Set(try cluster.task(parent).spec.secretEnvironment.values)
    for (variable, name) in spec.secretEnvironment.sorted(by: { $0.key < $1.key })
    where !given.contains(name) {
      throw .permissionDenied(
        "spec.secret_env[\(TextRules.quoted(variable))]: a task may pass on only the secrets it was given, and '\(name)' is not one of them"
      )
    }
  }
}
